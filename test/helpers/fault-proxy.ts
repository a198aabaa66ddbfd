/**
 * A fault-injecting TCP proxy in front of a Kafka listener (a test broker, or the upstream Weir
 * of the mirror's tests): it can refuse connections, cut them (now, or after N more response
 * bytes: mid-response), delay every chunk, throttle to N bytes/s, black-hole (accept, read,
 * forward nothing), and, with `kafkaFrames`, drop Produce responses: forward the request, let
 * the broker store the batch, then drop the connection instead of passing the response on. The
 * client cannot know the batch was stored and retries it on a new connection: exactly the case
 * KIP-98's sequence numbers exist for. The broker must advertise the proxy's port in Metadata, or
 * the client would connect around it. Byte order per direction is kept (one promise chain per
 * direction).
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
  /** With `kafkaFrames`: Produce responses still to drop (each costs its connection). */
  dropProduceResponses: number;
  /** Produce responses swallowed so far. */
  readonly dropped: number;
  /**
   * Called as a Produce response is swallowed, before its connection is cut: a test can change
   * the proxy (refuse, say) before the client can reconnect.
   */
  onProduceResponseDropped: (() => void) | undefined;
  /** Cuts every open connection now. */
  cutAll(): void;
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** Where to forward at first. */
  target?: number;
  /**
   * Forward whole size-prefixed Kafka frames instead of chunks as they come, so a fault can pick
   * a response by the API of its request (`dropProduceResponses`).
   */
  kafkaFrames?: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Calls `onFrame` with each whole size-prefixed frame (prefix included) as bytes arrive. */
export function frames(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      const end = 4 + buf.readInt32BE(0);
      onFrame(buf.subarray(0, end));
      buf = buf.subarray(end);
    }
  };
}

const PRODUCE = 0;

export async function startFaultProxy(options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const pairs = new Set<{ client: Socket; server: Socket }>();
  let responseBytes = 0;
  let cuts = 0;
  let dropped = 0;

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
    /** With kafkaFrames: correlation id -> API key of the requests in flight on this connection. */
    const apiKeys = new Map<number, number>();
    const dropFrame = (frame: Buffer, isResponse: boolean): boolean => {
      if (!isResponse) {
        apiKeys.set(frame.readInt32BE(8), frame.readInt16BE(4));
        return false;
      }
      const correlationId = frame.readInt32BE(4);
      const apiKey = apiKeys.get(correlationId);
      apiKeys.delete(correlationId);
      if (apiKey !== PRODUCE || proxy.dropProduceResponses <= 0) return false;
      proxy.dropProduceResponses--;
      dropped++;
      proxy.onProduceResponseDropped?.();
      end();
      return true;
    };
    forward(client, upstream, false, end, options.kafkaFrames === true ? dropFrame : undefined);
    forward(upstream, client, true, end, options.kafkaFrames === true ? dropFrame : undefined);
  });

  /** Passes what `from` sends on to `to`; whole frames when `dropFrame` is given, which notes each request and says which response to drop. */
  function forward(from: Socket, to: Socket, isResponse: boolean, end: () => void, dropFrame?: (frame: Buffer, isResponse: boolean) => boolean): void {
    let chain = Promise.resolve();
    const onData = (chunk: Buffer): void => {
      if (proxy.blackhole) return;
      chain = chain.then(async () => {
        if (to.destroyed || dropFrame?.(chunk, isResponse) === true) return;
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
    };
    from.on('data', dropFrame === undefined ? onData : frames(onData));
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: FaultProxy = {
    port: (server.address() as AddressInfo).port,
    target: options.target ?? 0,
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
    dropProduceResponses: 0,
    get dropped() {
      return dropped;
    },
    onProduceResponseDropped: undefined,
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
