/**
 * A fault-injecting TCP proxy for the mirror's tests: it sits between Weir's mirror and the
 * upstream (a second Weir) and can refuse connections, cut them (now, or after N more response
 * bytes: mid-response), delay every chunk, throttle to N bytes/s, and black-hole (accept, read,
 * forward nothing). The upstream must advertise the proxy's port in Metadata, or librdkafka would
 * connect around it. Byte order per direction is kept (one promise chain per direction).
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface FaultProxy {
  readonly port: number;
  /** Where to forward (the upstream's Kafka port); may change when the upstream restarts. */
  target: number;
  /** New connections are reset at once (ECONNRESET), as a host with nothing listening would. */
  refuse: boolean;
  /** Accept and read, forward nothing, never answer (a hung link or a dead NAT entry). */
  blackhole: boolean;
  /** Added to every chunk, both directions. */
  delayMs: number;
  /** Cap per direction per connection, bytes/s; 0 = none. */
  bytesPerSecond: number;
  /** Upstream→client bytes that may still pass before every connection is cut mid-response; -1 = never. */
  cutAfterResponseBytes: number;
  /** Bytes forwarded upstream→client so far. */
  readonly responseBytes: number;
  readonly connections: number;
  /** Connections cut so far (cutAll and cutAfterResponseBytes). */
  readonly cuts: number;
  /** Cuts every open connection now. */
  cutAll(): void;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startFaultProxy(target = 0): Promise<FaultProxy> {
  const pairs = new Set<{ client: Socket; server: Socket }>();
  let responseBytes = 0;
  let cuts = 0;

  const server: Server = createServer((client) => {
    if (proxy.refuse) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(proxy.target, '127.0.0.1');
    const pair = { client, server: upstream };
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    forward(client, upstream, false, end);
    forward(upstream, client, true, end);
  });

  function forward(from: Socket, to: Socket, isResponse: boolean, end: () => void): void {
    let chain = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      if (proxy.blackhole) return;
      chain = chain.then(async () => {
        if (to.destroyed) return;
        if (proxy.delayMs > 0) await sleep(proxy.delayMs);
        if (proxy.bytesPerSecond > 0) await sleep((chunk.length / proxy.bytesPerSecond) * 1000);
        if (proxy.blackhole || to.destroyed) return;
        if (isResponse && proxy.cutAfterResponseBytes >= 0) {
          if (chunk.length > proxy.cutAfterResponseBytes) {
            const part = chunk.subarray(0, proxy.cutAfterResponseBytes);
            proxy.cutAfterResponseBytes = -1;
            responseBytes += part.length;
            to.write(part, () => proxy.cutAll());
            return;
          }
          proxy.cutAfterResponseBytes -= chunk.length;
        }
        if (isResponse) responseBytes += chunk.length;
        to.write(chunk);
      });
      void chain.catch(end);
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: FaultProxy = {
    port: (server.address() as AddressInfo).port,
    target,
    refuse: false,
    blackhole: false,
    delayMs: 0,
    bytesPerSecond: 0,
    cutAfterResponseBytes: -1,
    get responseBytes() {
      return responseBytes;
    },
    get connections() {
      return pairs.size;
    },
    get cuts() {
      return cuts;
    },
    cutAll() {
      for (const p of [...pairs]) {
        cuts++;
        p.client.resetAndDestroy();
        p.server.destroy();
      }
      pairs.clear();
    },
    close() {
      proxy.cutAll();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
