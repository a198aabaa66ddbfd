/**
 * One connection to one Kafka broker, for the mirror's own producer: TCP (or TLS), ApiVersions,
 * SASL, then pipelined requests answered in order (Kafka protocol guide, "Network": a broker
 * answers a connection's requests in the order it received them).
 *
 * Requests are framed as int32 size + header v1 + body. The body Writer keeps large byte
 * arrays (a Produce request's record batches) by reference, and the chunks go to the socket
 * corked, so one writev carries them without being copied into one buffer first.
 *
 * Responses are cut from the byte stream by ResponseFrameReader: each byte is copied at most
 * once (a frame that arrives in one chunk is a view of it), so a frame of megabytes in many TCP
 * chunks costs linear time. A size prefix above the cap cannot be a response (the stream is out
 * of step, or it is not Kafka): the connection closes with that error.
 */
import { isIP, type Socket } from 'node:net';
import { ApiKey } from '../../../src/kafka/protocol/api-keys.js';
import { writeRequestHeader } from '../../../src/kafka/protocol/header.js';
import { Reader } from '../../../src/kafka/protocol/reader.js';
import { Writer } from '../../../src/kafka/protocol/writer.js';
import {
  API_VERSIONS_VERSION, HandshakeFailure, authenticate, commonVersion, connectTcp, describeErrorCode, openSslReason, readApiVersionsResponse, startTls,
  writeApiVersionsRequest, type BrokerApiRange, type ConnectFailure, type WireTls,
} from './handshake.js';
import type { SaslCredentials } from './sasl-client.js';

export type { WireTls };

export interface WireSecurity {
  /** TLS on when set; PEM contents (the caller reads the files). Verify the server certificate against `ca` (or the system CAs when absent), SNI = host when it is a name. */
  tls?: WireTls;
  sasl?: SaslCredentials;
}

export interface ConnectionOptions extends WireSecurity {
  host: string;
  port: number;
  clientId: string;
  /** TCP connect + TLS + ApiVersions + SASL must all finish within this. */
  connectTimeoutMs: number;
  /** A request without its response after this: the connection is closed (responses come in order, so the rest are lost too). */
  requestTimeoutMs: number;
  /** A response frame larger than this is garbage; default MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
}

/** Far above any response the mirror asks for (Produce answers are small), far below what a stray size prefix could claim. */
export const MAX_RESPONSE_BYTES = 64 * 2 ** 20;

export type { ConnectFailure };

/** Why a connect failed, in words an operator acts on (`reason`), e.g. "TLS: self-signed certificate in certificate chain". */
export class ConnectError extends Error {
  override name = 'ConnectError';
  readonly failure: ConnectFailure;
  constructor(
    readonly reason: string,
    options: { failure?: ConnectFailure; address?: string; cause?: unknown } = {},
  ) {
    super(options.address === undefined ? reason : `cannot connect to ${options.address}: ${reason}`, { cause: options.cause });
    this.failure = options.failure ?? 'network';
  }
}

/** The connection is gone (closed, reset, request timeout); the request's outcome is unknown. */
export class ConnectionLost extends Error {
  override name = 'ConnectionLost';
}

interface Pending {
  correlationId: number;
  apiKey: number;
  version: number;
  /** performance.now() when it was written. */
  sentAt: number;
  read: (r: Reader) => unknown;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/** A connect in progress: what the timeout must tear down, and what to name in its message. */
interface Attempt {
  phase: string;
  socket?: Socket;
  conn?: BrokerConnection;
}

/** host:port, with an IPv6 address in brackets (RFC 3986 section 3.2.2), as operators write it. */
function addressOf(opts: { host: string; port: number }): string {
  return isIP(opts.host) === 6 ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`;
}

const API_NAMES = new Map<number, string>(Object.entries(ApiKey).map(([name, key]) => [key, name]));

export class BrokerConnection {
  private readonly pending: Pending[] = [];
  private readonly address: string;
  private readonly closeListeners: ((err: Error | undefined) => void)[] = [];
  private apis = new Map<number, BrokerApiRange>();
  private nextCorrelationId = 0;
  private timer: NodeJS.Timeout | undefined;
  private isClosed = false;
  /** performance.now() of the last response. */
  private answeredAt = 0;
  private closeError: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly opts: ConnectionOptions,
  ) {
    this.address = addressOf(opts);
    const frames = new ResponseFrameReader(opts.maxResponseBytes ?? MAX_RESPONSE_BYTES);
    socket.on('data', (chunk: Buffer) => {
      let complete: Buffer[];
      try {
        complete = frames.push(chunk);
      } catch (err) {
        this.shut(err as Error);
        return;
      }
      for (const frame of complete) {
        if (this.isClosed) return;
        this.onFrame(frame);
      }
    });
    socket.on('error', (err) => this.shut(err));
    socket.on('close', () => this.shut(new Error('the broker closed the connection')));
  }

  /** Connects, negotiates versions and authenticates; rejects with ConnectError. */
  static async open(opts: ConnectionOptions): Promise<BrokerConnection> {
    const address = addressOf(opts);
    const attempt: Attempt = { phase: 'connecting' };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ConnectError(`timed out after ${opts.connectTimeoutMs} ms while ${attempt.phase}`, { failure: 'timeout', address })), opts.connectTimeoutMs);
    });
    const establishing = BrokerConnection.establish(opts, attempt);
    establishing.catch(() => undefined); // lost the race to the timeout: already torn down
    try {
      return await Promise.race([establishing, timedOut]);
    } catch (err) {
      attempt.conn?.close();
      attempt.socket?.destroy();
      if (err instanceof ConnectError) throw err;
      if (err instanceof HandshakeFailure) throw new ConnectError(err.message, { failure: err.failure, address, cause: err.cause });
      // A ConnectionLost names the address again; its cause says what happened.
      const cause = err instanceof ConnectionLost && err.cause instanceof Error ? err.cause : err;
      const tls = openSslReason(cause);
      if (tls !== undefined) throw new ConnectError(`TLS: ${tls}`, { failure: 'tls', address, cause });
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new ConnectError(`connection lost while ${attempt.phase}: ${why}`, { failure: 'network', address, cause });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The highest version in [min, max] both sides support for apiKey (from ApiVersions), or undefined. */
  version(apiKey: number, min: number, max: number): number | undefined {
    return commonVersion(this.apis.get(apiKey), min, max);
  }

  /**
   * One request: header v1 then `write` writes the body; `read` decodes the response body (after
   * the v0 response header; the Reader's bytes are views into the frame: copy what you keep).
   * Rejects with ConnectionLost when the connection goes, or with `read`'s error when the
   * response does not decode (the connection stays: the frames around it are intact).
   */
  request<T>(apiKey: number, version: number, write: (w: Writer) => void, read: (r: Reader) => T): Promise<T> {
    if (this.isClosed) return Promise.reject(this.lost(this.closeError));
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (correlationId + 1) & 0x7fffffff;
    let chunks: Buffer[];
    let size: number;
    try {
      const w = new Writer();
      w.int32(0); // the size, filled in below once known
      writeRequestHeader(w, { apiKey, apiVersion: version, correlationId, clientId: this.opts.clientId }, false);
      write(w);
      size = w.length - 4;
      chunks = w.toChunks();
    } catch (err) {
      return Promise.reject(err as Error);
    }
    // The first chunk is the Writer's scratch buffer, which starts with the size placeholder.
    chunks[0]!.writeInt32BE(size, 0);
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ correlationId, apiKey, version, sentAt: performance.now(), read, resolve: resolve as (v: unknown) => void, reject });
      this.armTimer();
      if (chunks.length === 1) {
        this.socket.write(chunks[0]!);
        return;
      }
      this.socket.cork();
      for (const chunk of chunks) this.socket.write(chunk);
      this.socket.uncork();
    });
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.length;
  }

  /** Request bytes queued in this process, not yet handed to the kernel (for a caller that bounds memory). */
  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Called once when the connection closes for any reason (error or close()), with the error if one caused it. */
  onClose(listener: (err: Error | undefined) => void): void {
    if (this.isClosed) queueMicrotask(() => listener(this.closeError));
    else this.closeListeners.push(listener);
  }

  /** Closes now; every pending request rejects with ConnectionLost. */
  close(): void {
    this.shut(undefined);
  }

  private onFrame(frame: Buffer): void {
    const head = this.pending[0];
    const correlationId = frame.readInt32BE(0);
    if (head === undefined || head.correlationId !== correlationId) {
      const expected = head === undefined ? 'none was pending' : `expected ${head.correlationId}`;
      this.shut(new Error(`response with correlation id ${correlationId}, ${expected}: the broker is out of step`));
      return;
    }
    this.pending.shift();
    this.answeredAt = performance.now();
    let value: unknown;
    try {
      value = head.read(new Reader(frame, 4));
    } catch (err) {
      head.reject(err as Error);
      return;
    }
    head.resolve(value);
  }

  /**
   * When the oldest request times out. A broker handles a connection's requests one at a time
   * (Kafka mutes the channel until the response is queued), so a request's wait starts when it
   * was sent or when the one before it was answered, whichever is later: five pipelined acks=all
   * produce requests each allowed its own timeout in purgatory are not one timeout in all.
   * Monotonic time: a clock stepped back (NTP on a board without a real-time clock) must not
   * stretch it.
   */
  private headDeadline(): number {
    return Math.max(this.pending[0]!.sentAt, this.answeredAt) + this.opts.requestTimeoutMs;
  }

  /**
   * One timer for the oldest request only: later ones cannot expire first. When it fires for a
   * request already answered, it re-arms for the oldest one left, so a busy connection sets a
   * timer per timeout period, not per request.
   */
  private armTimer(): void {
    if (this.timer !== undefined || this.pending.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const head = this.pending[0];
      if (head === undefined) return;
      if (this.headDeadline() > performance.now()) return this.armTimer();
      const api = `${API_NAMES.get(head.apiKey) ?? `api key ${head.apiKey}`} v${head.version}`;
      this.shut(new Error(`request timed out: no response to ${api} (correlation id ${head.correlationId}) within ${this.opts.requestTimeoutMs} ms`));
    }, Math.max(0, this.headDeadline() - performance.now()));
  }

  private lost(cause: Error | undefined): ConnectionLost {
    return new ConnectionLost(`connection to ${this.address} lost: ${cause?.message ?? 'closed by this client'}`, { cause });
  }

  private shut(cause: Error | undefined): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeError = cause;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.socket.destroy();
    for (const p of this.pending.splice(0)) p.reject(this.lost(cause));
    for (const listener of this.closeListeners.splice(0)) listener(cause);
  }

  /** TCP, then TLS when configured, then ApiVersions, then SASL when configured. */
  private static async establish(opts: ConnectionOptions, attempt: Attempt): Promise<BrokerConnection> {
    const onSocket = (s: Socket): void => void (attempt.socket = s);
    let socket = await connectTcp(opts.host, opts.port, onSocket);
    if (opts.tls !== undefined) {
      attempt.phase = 'in the TLS handshake';
      socket = await startTls(socket, opts.host, opts.tls, onSocket);
    }
    const conn = new BrokerConnection(socket, opts);
    attempt.conn = conn;
    attempt.phase = 'negotiating API versions';
    const versions = await conn.request(ApiKey.ApiVersions, API_VERSIONS_VERSION, writeApiVersionsRequest, readApiVersionsResponse);
    if (versions.errorCode !== 0) throw new HandshakeFailure(`ApiVersions failed: ${describeErrorCode(versions.errorCode)}`, 'protocol');
    conn.apis = versions.apis;
    if (opts.sasl !== undefined) {
      attempt.phase = 'authenticating';
      await authenticate(conn, opts.sasl);
    }
    return conn;
  }
}

/**
 * Cuts a byte stream into Kafka response frames (int32 size, then that many bytes, the first
 * four the correlation id). Chunks may split a frame anywhere, even inside its size, or carry
 * several. A frame whole inside one chunk is returned as a view of it; one spread over chunks
 * is copied once into a buffer of its declared size. Throws on a size outside [4, max].
 */
export class ResponseFrameReader {
  private readonly sizeBytes = Buffer.alloc(4);
  private sizeFilled = 0;
  private frame: Buffer | undefined;
  private filled = 0;

  constructor(private readonly maxFrameBytes: number) {}

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.frame === undefined) {
        let size: number;
        if (this.sizeFilled === 0 && chunk.length - pos >= 4) {
          size = chunk.readInt32BE(pos);
          pos += 4;
        } else {
          const k = Math.min(4 - this.sizeFilled, chunk.length - pos);
          chunk.copy(this.sizeBytes, this.sizeFilled, pos, pos + k);
          this.sizeFilled += k;
          pos += k;
          if (this.sizeFilled < 4) break;
          this.sizeFilled = 0;
          size = this.sizeBytes.readInt32BE(0);
        }
        if (size < 4 || size > this.maxFrameBytes) throw new Error(`response frame size ${size} is outside [4, ${this.maxFrameBytes}]: not a Kafka response stream`);
        if (chunk.length - pos >= size) {
          out.push(chunk.subarray(pos, pos + size));
          pos += size;
          continue;
        }
        this.frame = Buffer.allocUnsafe(size);
        this.filled = 0;
      }
      const k = Math.min(this.frame.length - this.filled, chunk.length - pos);
      chunk.copy(this.frame, this.filled, pos, pos + k);
      this.filled += k;
      pos += k;
      if (this.filled === this.frame.length) {
        out.push(this.frame);
        this.frame = undefined;
      }
    }
    return out;
  }
}
