/**
 * One client connection: frames in, responses out in request order.
 *
 * - Requests are decoded as they arrive and served concurrently; each gets a slot in `queue`,
 *   and slots are written strictly front to back, so responses leave in request order (Kafka
 *   clients match by correlation id but librdkafka and kafkajs also expect order). A request
 *   that gets no response (Produce acks=0) still holds its slot until it is served, so order
 *   holds for the requests behind it.
 * - Every request byte is reserved against the listener's budget (byte-budget.ts) from the
 *   moment its size prefix is read until its response is written; a request that cannot be
 *   reserved is not read further (the socket is paused) until bytes are given back. A connection
 *   holding nothing may always read one small request (SMALL_REQUEST_BYTES), so large partial
 *   requests holding the budget do not stall everyone's Metadata, heartbeats and small produces.
 * - At most `maxInFlight` slots: at the cap, or while the socket's write buffer is over its
 *   high-water mark (the client is not reading its responses), the socket is paused (TCP
 *   backpressure reaches the client), no further request is started (so no more responses are
 *   built), and decoded frames wait in `backlog`, which only ever holds what one read returned.
 * - At most one Fetch per connection is served or waiting to be written at a time (clients send
 *   one at a time anyway; Kafka serves one request per connection at a time): a pipeline of
 *   Fetches cannot make the listener hold more than one fetch response per connection. The
 *   record bytes of fetch responses count against the listener's `responseBudget` until the
 *   socket takes them; while it is spent, no Fetch is started.
 * - Bad input (a bad frame size, a header or body that does not parse, an API key nobody
 *   serves, a version outside the range for anything but ApiVersions) closes this connection
 *   only: other clients and stored data are untouched (DESIGN.md invariants).
 * - With SASL, only ApiVersions/SaslHandshake/SaslAuthenticate are served until the exchange
 *   succeeds (KIP-43/KIP-152); anything else closes the connection, and so does a failed
 *   exchange once its error response is written.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../../logger.js';
import { ApiKey } from '../protocol/api-keys.js';
import { encodeApiVersionsResponse } from '../protocol/apis/api-versions.js';
import { errorCode } from '../protocol/error-codes.js';
import { readRequestHeaderPrefix, responseHeaderIsFlexible, writeResponseHeader, type RequestHeader } from '../protocol/header.js';
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import { SMALL_REQUEST_BYTES, type ByteBudget } from './byte-budget.js';
import { FrameDecoder } from './frame-decoder.js';
import { isFlexible, NO_RESPONSE, type BrokerInfo, type ConnectionInfo, type KafkaHandler } from './handler.js';
import type { HandlerRegistry } from './registry.js';
import { openAuth } from './sasl/connection-auth.js';
import { PRE_AUTH_API_KEYS, type SaslServer } from './sasl/index.js';
import type { CloseReason, KafkaServerStats } from './stats.js';

export interface ConnectionOptions {
  id: number;
  socket: Socket;
  registry: HandlerRegistry;
  broker: () => BrokerInfo;
  log: Logger;
  maxFrameBytes: number;
  maxInFlight: number;
  /** Listener-wide cap on request bytes held (see byte-budget.ts). */
  budget: ByteBudget;
  /** kafka.fetch_max_bytes, handed to handlers. */
  fetchMaxBytes: number;
  /** Listener-wide cap on fetch response bytes not yet taken by their sockets (kafka.max_queued_response_bytes). */
  responseBudget: ByteBudget;
  /** SASL required before anything but the handshake; undefined on a listener without SASL. */
  sasl?: SaslServer;
  stats: KafkaServerStats;
  onClose: () => void;
}

interface Slot {
  apiKey: number;
  done: boolean;
  /** Request bytes held against the budget until the slot is written. */
  bytes: number;
  /** Fetch response bytes held against the response budget until the socket takes them. */
  responseBytes: number;
  /** null: served, nothing to send. */
  chunks: Buffer[] | null;
  /** Close the connection once this response is written (failed SASL authentication). */
  closeAfter?: boolean;
}

export class KafkaConnection {
  readonly info: ConnectionInfo;
  private readonly socket: Socket;
  private readonly opts: ConnectionOptions;
  private readonly log: Logger;
  private readonly decoder: FrameDecoder;
  private readonly abort = new AbortController();
  private readonly queue: Slot[] = [];
  private backlog: Buffer[] = [];
  private writeBlocked = false;
  private closed = false;
  private draining: (() => void) | undefined;
  /** One child logger per API on this connection, made on first use (not per request). */
  private readonly apiLogs = new Map<number, Logger>();
  /** Bytes this connection holds against the budget: frames reserved and not yet answered. */
  private reserved = 0;
  private waitingForBudget = false;
  /** Fetch response bytes this connection holds against the response budget. */
  private responseHeld = 0;
  private waitingForResponseBudget = false;
  /** Date.now() of the last byte read, response written or write buffer drained. */
  private lastActivity = Date.now();

  constructor(opts: ConnectionOptions) {
    this.opts = opts;
    this.socket = opts.socket;
    this.decoder = new FrameDecoder(opts.maxFrameBytes, (n) => {
      if (this.reserved === 0 && n <= SMALL_REQUEST_BYTES) opts.budget.take(n);
      else if (!opts.budget.tryTake(n)) return false;
      this.reserved += n;
      return true;
    });
    this.info = {
      id: opts.id,
      remoteAddress: opts.socket.remoteAddress ?? '',
      remotePort: opts.socket.remotePort ?? 0,
      signal: this.abort.signal,
      auth: opts.sasl?.newConnection() ?? openAuth(),
    };
    this.log = opts.log.child({ connection: opts.id, remote: `${this.info.remoteAddress}:${this.info.remotePort}` });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('drain', () => {
      this.writeBlocked = false;
      this.lastActivity = Date.now();
      this.pump();
    });
    this.socket.on('error', (err) => this.log.debug({ err }, 'kafka connection error'));
    this.socket.on('close', () => this.onSocketClose());
  }

  /**
   * Milliseconds since the last sign of life, or -1 while a request is being served (a long poll
   * or a parked JoinGroup is not idleness) or a request is partly read (see partialRequestMs).
   */
  idleMs(now: number): number {
    if (this.decoder.pendingBytes > 0 || this.decoder.blocked || this.queue.some((s) => !s.done)) return -1;
    return now - this.lastActivity;
  }

  /** Milliseconds the request now arriving has taken so far (not counting waits for the budget), or 0. */
  partialRequestMs(now: number): number {
    const since = this.decoder.partialSince;
    return since === 0 ? 0 : now - since;
  }

  /** Closes the connection for the listener (idle, too slow, or making room), counted under `reason`. */
  close(why: string, details: Record<string, unknown>, reason: 'idle' | 'slow_request' | 'evicted_idle'): void {
    if (this.closed) return;
    this.opts.stats.closed[reason]++;
    // An idle client reconnects when it needs to: worth a line, not a warning.
    if (reason === 'slow_request') this.log.warn(details, `kafka connection closed: ${why}`);
    else this.log.info(details, `kafka connection closed: ${why}`);
    this.socket.destroy();
    this.onSocketClose();
  }

  /** Stop reading, let requests in flight finish and be answered, then close. */
  drainAndClose(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.socket.pause();
    this.dropBacklog();
    // Long polls (Fetch) answer now with what they have.
    this.abort.abort();
    return new Promise<void>((resolve) => {
      this.draining = resolve;
      this.maybeFinishDrain();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.draining !== undefined) return;
    this.opts.stats.bytesIn += chunk.length;
    this.lastActivity = Date.now();
    this.decode(chunk);
  }

  /** Feeds the decoder (an empty chunk retries a refused reservation) and serves what it completes. */
  private decode(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.fail(err, 'bad frame', {}, 'bad_input');
      return;
    }
    for (const f of frames) this.backlog.push(f);
    if (this.decoder.blocked && !this.waitingForBudget) {
      this.waitingForBudget = true;
      this.opts.budget.waitFor(() => {
        this.waitingForBudget = false;
        if (!this.closed && this.draining === undefined) this.decode(Buffer.alloc(0));
      });
    }
    this.pump();
  }

  /** Starts backlog frames while there is room, and pauses or resumes the socket to match. */
  private pump(): void {
    while (!this.closed && this.draining === undefined && this.backlog.length > 0 && this.hasRoomFor(this.backlog[0]!)) {
      this.startRequest(this.backlog.shift()!);
    }
    if (this.closed || this.draining !== undefined) return;
    const full = this.backlog.length > 0 || this.queue.length >= this.opts.maxInFlight || this.writeBlocked || this.decoder.blocked;
    if (full) this.socket.pause();
    else this.socket.resume();
  }

  /**
   * Room to start `frame`: under the in-flight cap, the client is reading its responses, and
   * for a Fetch, no other Fetch of this connection is still held.
   */
  private hasRoomFor(frame: Buffer): boolean {
    if (this.queue.length >= this.opts.maxInFlight || this.writeBlocked) return false;
    if (this.info.auth.rawTokens || frame.readInt16BE(0) !== ApiKey.Fetch) return true;
    if (this.queue.some((s) => s.apiKey === ApiKey.Fetch)) return false;
    if (this.opts.responseBudget.availableBytes > 0) return true;
    if (!this.waitingForResponseBudget) {
      this.waitingForResponseBudget = true;
      this.opts.responseBudget.waitFor(() => {
        this.waitingForResponseBudget = false;
        this.pump();
      });
    }
    return false;
  }

  private releaseResponse(n: number): void {
    // After close, onSocketClose has given back everything this connection held.
    if (this.closed || n === 0) return;
    this.responseHeld -= n;
    this.opts.responseBudget.release(n);
  }

  /** Gives back the budget of `n` bytes of this connection's frames. */
  private giveBack(n: number): void {
    this.reserved -= n;
    this.opts.budget.release(n);
  }

  private dropBacklog(): void {
    let n = 0;
    for (const f of this.backlog) n += f.length;
    this.backlog = [];
    this.giveBack(n);
  }

  private startRequest(frame: Buffer): void {
    if (this.info.auth.rawTokens) {
      this.startRawToken(frame);
      return;
    }
    const started = process.hrtime.bigint();
    const reader = new Reader(frame);
    let header: RequestHeader;
    let handler: KafkaHandler | undefined;
    let request: unknown;
    let flexible = false;
    try {
      header = readRequestHeaderPrefix(reader);
      handler = this.opts.registry.get(header.apiKey);
      if (handler === undefined) {
        this.fail(undefined, 'unknown API key', { apiKey: header.apiKey }, 'bad_input');
        return;
      }
      if (!this.info.auth.authenticated && !PRE_AUTH_API_KEYS.has(header.apiKey)) {
        this.fail(undefined, 'request before SASL authentication', { api: handler.name }, 'unauthenticated_request');
        return;
      }
      if (header.apiVersion < handler.minVersion || header.apiVersion > handler.maxVersion) {
        if (header.apiKey === ApiKey.ApiVersions) {
          this.enqueueUnsupportedApiVersions(header, frame.length);
          return;
        }
        // No body layout exists for a version the handler does not know: Kafka closes too.
        this.fail(undefined, 'unsupported API version', { api: handler.name, version: header.apiVersion }, 'bad_input');
        return;
      }
      flexible = isFlexible(handler, header.apiVersion);
      if (flexible) reader.taggedFields();
      request = handler.decode(reader, header.apiVersion);
    } catch (err) {
      this.fail(err, 'request does not parse', {}, 'bad_input');
      return;
    }
    const slot: Slot = { apiKey: header.apiKey, done: false, bytes: frame.length, responseBytes: 0, chunks: null };
    this.queue.push(slot);
    const h = handler;
    const responses = this.opts.responseBudget;
    const ctx = {
      header,
      apiVersion: header.apiVersion,
      connection: this.info,
      broker: this.opts.broker(),
      fetchBytes: {
        limit: () => Math.min(this.opts.fetchMaxBytes, Math.max(1, responses.availableBytes)),
        hold: (n: number) => {
          if (this.closed || n === 0) return;
          slot.responseBytes += n;
          this.responseHeld += n;
          responses.take(n);
        },
      },
      log: this.apiLog(h),
    };
    Promise.resolve()
      .then(() => h.handle(request, ctx))
      .then((response) => {
        if (response !== NO_RESPONSE) {
          const w = new Writer();
          w.int32(0); // size, patched below
          writeResponseHeader(w, header.correlationId, responseHeaderIsFlexible(header.apiKey, flexible));
          h.encode(w, header.apiVersion, response);
          slot.chunks = frameChunks(w);
        }
        this.opts.stats.request(h.apiKey, h.name, request, response === NO_RESPONSE ? undefined : response, Number(process.hrtime.bigint() - started) / 1e9);
        if (this.info.auth.closeAfterResponse) slot.closeAfter = true;
        slot.done = true;
        this.flush();
      })
      .catch((err: unknown) => {
        slot.done = true;
        this.fail(err, 'handler failed', { api: h.name, version: header.apiVersion });
      });
  }

  /** A bare SASL token after a v0 SaslHandshake: answered with a bare size-framed token. */
  private startRawToken(frame: Buffer): void {
    const slot: Slot = { apiKey: -1, done: false, bytes: frame.length, responseBytes: 0, chunks: null };
    this.queue.push(slot);
    void this.opts.sasl!.step(this.info.auth, frame).then((r) => {
      slot.done = true;
      if (!r.ok) {
        // The original flow has no error response: the broker just closes (KIP-43).
        this.fail(undefined, 'SASL authentication failed', {}, 'auth_failed');
        return;
      }
      const size = Buffer.alloc(4);
      size.writeInt32BE(r.response.length, 0);
      slot.chunks = [size, r.response];
      this.flush();
    });
  }

  private apiLog(h: KafkaHandler): Logger {
    let l = this.apiLogs.get(h.apiKey);
    if (l === undefined) {
      l = this.log.child({ api: h.name });
      this.apiLogs.set(h.apiKey, l);
    }
    return l;
  }

  /** KIP-511: a too-new ApiVersions gets a v0 body with UNSUPPORTED_VERSION and our ranges. */
  private enqueueUnsupportedApiVersions(header: RequestHeader, bytes: number): void {
    const w = new Writer();
    w.int32(0);
    writeResponseHeader(w, header.correlationId, false);
    encodeApiVersionsResponse(w, 0, { errorCode: errorCode('UNSUPPORTED_VERSION'), apiKeys: this.opts.registry.ranges(), throttleTimeMs: 0 });
    this.queue.push({ apiKey: header.apiKey, done: true, bytes, responseBytes: 0, chunks: frameChunks(w) });
    this.flush();
  }

  /** Writes every finished slot at the front of the queue. */
  private flush(): void {
    if (this.closed) return;
    while (this.queue.length > 0 && this.queue[0]!.done) {
      const slot = this.queue.shift()!;
      this.giveBack(slot.bytes);
      if (slot.chunks === null) {
        this.releaseResponse(slot.responseBytes);
        continue;
      }
      this.lastActivity = Date.now();
      let ok = true;
      const last = slot.chunks.length - 1;
      const held = slot.responseBytes;
      slot.chunks.forEach((c, i) => {
        this.opts.stats.bytesOut += c.length;
        // The last chunk's callback: the socket has taken the whole response.
        ok = i === last && held > 0 ? this.socket.write(c, () => this.releaseResponse(held)) : this.socket.write(c);
      });
      if (!ok) this.writeBlocked = true;
      if (slot.closeAfter === true) {
        this.endAfterResponse();
        return;
      }
    }
    this.maybeFinishDrain();
    this.pump();
  }

  private maybeFinishDrain(): void {
    if (this.draining === undefined || this.queue.length > 0) return;
    const done = this.draining;
    this.socket.once('close', done);
    this.socket.end();
    // Read (and drop) what the peer still sends, so its FIN is seen and the socket closes; a
    // paused socket would wait for it forever.
    this.socket.resume();
  }

  /** Sends what is written, then closes: the client reads the error before the connection goes. */
  private endAfterResponse(): void {
    this.opts.stats.closed.auth_failed++;
    this.socket.end();
    // A peer that never closes its side must not keep the socket.
    setTimeout(() => this.socket.destroy(), 1_000).unref();
    this.onSocketClose();
  }

  private fail(err: unknown, why: string, details: Record<string, unknown> = {}, reason?: CloseReason): void {
    if (this.closed) return;
    if (reason !== undefined) this.opts.stats.closed[reason]++;
    this.log.warn({ err, ...details }, `kafka connection closed: ${why}`);
    this.socket.destroy();
    this.onSocketClose();
  }

  private onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.backlog = [];
    // Requests still arriving, waiting or being served will never be answered: give their bytes back now.
    this.queue.length = 0;
    this.giveBack(this.reserved);
    this.opts.responseBudget.release(this.responseHeld);
    this.responseHeld = 0;
    this.abort.abort();
    this.draining?.();
    this.opts.onClose();
  }
}

/** The writer's chunks with the int32 size prefix (the writer's first 4 bytes) filled in. */
function frameChunks(w: Writer): Buffer[] {
  const size = w.length - 4;
  const chunks = w.toChunks();
  chunks[0]!.writeInt32BE(size, 0);
  return chunks;
}
