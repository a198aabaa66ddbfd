/**
 * A TCP proxy in front of a test broker that swallows Produce responses: it forwards a Produce
 * request, lets the broker write it durably, then drops the connection instead of passing the
 * response on. The client cannot know the batch was stored, so it retries it on a new
 * connection: exactly the case KIP-98's sequence numbers exist for. The broker must advertise
 * the proxy's port (Metadata), or the client would reconnect around it.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

export interface FaultProxy {
  readonly port: number;
  /** Where to forward; set once the broker is listening. */
  target: number;
  /** Produce responses still to swallow (each costs that connection). */
  dropProduceResponses: number;
  /** Produce responses swallowed so far. */
  readonly dropped: number;
  close(): Promise<void>;
}

/** Calls `onFrame` with each whole size-prefixed frame (without the prefix) as bytes arrive. */
function frames(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      const size = buf.readInt32BE(0);
      onFrame(buf.subarray(4, 4 + size));
      buf = buf.subarray(4 + size);
    }
  };
}

function withSize(frame: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(frame.length, 0);
  return Buffer.concat([size, frame]);
}

export async function startFaultProxy(): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  let dropped = 0;
  const proxy: FaultProxy = {
    port: 0,
    target: 0,
    dropProduceResponses: 0,
    get dropped() {
      return dropped;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
  const server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: proxy.target });
    sockets.add(client);
    sockets.add(upstream);
    const kill = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', kill).on('close', kill);
    upstream.on('error', kill).on('close', kill);
    /** correlation id -> api key of requests in flight on this connection. */
    const apiKeys = new Map<number, number>();
    client.on('data', frames((f) => {
      apiKeys.set(f.readInt32BE(4), f.readInt16BE(0));
      upstream.write(withSize(f));
    }));
    upstream.on('data', frames((f) => {
      const correlationId = f.readInt32BE(0);
      const apiKey = apiKeys.get(correlationId);
      apiKeys.delete(correlationId);
      if (apiKey === 0 && proxy.dropProduceResponses > 0) {
        proxy.dropProduceResponses--;
        dropped++;
        kill();
        return;
      }
      client.write(withSize(f));
    }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  (proxy as { port: number }).port = (server.address() as AddressInfo).port;
  return proxy;
}
