/**
 * One client connection: frames in, responses out in request order.
 *
 * - Requests are decoded as they arrive and served concurrently; each gets a slot in the
 *   response queue (response-queue.ts), which writes responses in request order.
 * - Every request byte is reserved against the listener's budget (connection-budget.ts) from the
 *   moment its size prefix is read until its response is written; a request that cannot be
 *   reserved is not read further (the socket is paused) until bytes are given back.
 * - At most `maxInFlight` slots: at the cap, or while the socket's write buffer is over its
 *   high-water mark (the client is not reading its responses), the socket is paused (TCP
 *   backpressure reaches the client), no further request is started (so no more responses are
 *   built), and decoded frames wait in `backlog`, which only ever holds what one read returned.
 * - At most one Fetch per connection is served or waiting to be written at a time (clients send
 *   one at a time anyway; Kafka serves one request per connection at a time): a pipeline of
 *   Fetches cannot make the listener hold more than one fetch response per connection. The
 *   record bytes of fetch responses count against the listener's `responseBudget` until the
 *   socket takes them; while it is spent, no Fetch is started.
 * - Bad input (a bad frame size, or a frame request-frame.ts refuses) closes this connection
 *   only: other clients and stored data are untouched.
 * - With SASL, a failed exchange closes the connection once its error response is written.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../../logger.js';
import { ApiKey } from '../protocol/api-keys.js';
import type { RequestHeader } from '../protocol/header.js';
import type { ByteBudget } from './byte-budget.js';
import { ConnectionBudget } from './connection-budget.js';
import { FrameDecoder } from './frame-decoder.js';
import { NO_RESPONSE, type BrokerInfo, type ConnectionInfo, type HandlerContext, type KafkaHandler } from './handler.js';
import type { HandlerRegistry } from './registry.js';
import { parseRequestFrame, rawTokenFrame, responseFrame, unsupportedApiVersionsFrame } from './request-frame.js';
import { ResponseQueue, type Slot } from './response-queue.js';
import { openAuth } from './sasl/connection-auth.js';
import type { SaslServer } from './sasl/index.js';
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

export class KafkaConnection {
  readonly info: ConnectionInfo;
  private readonly socket: Socket;
  private readonly opts: ConnectionOptions;
  private readonly log: Logger;
  private readonly decoder: FrameDecoder;
  private readonly abort = new AbortController();
  private readonly queue: ResponseQueue;
  private backlog: Buffer[] = [];
  private writeBlocked = false;
  private closed = false;
  private draining: (() => void) | undefined;
  /** One child logger per API on this connection, made on first use (not per request). */
  private readonly apiLogs = new Map<number, Logger>();
  private readonly budget: ConnectionBudget;
  /** Date.now() of the last byte read, response written or write buffer drained. */
  private lastActivity = Date.now();

  constructor(opts: ConnectionOptions) {
    this.opts = opts;
    this.socket = opts.socket;
    this.budget = new ConnectionBudget(opts.budget, opts.responseBudget);
    this.decoder = new FrameDecoder(opts.maxFrameBytes, (n) => this.budget.reserveRequest(n));
    this.queue = new ResponseQueue(opts.socket, this.budget, opts.stats);
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
    if (this.decoder.pendingBytes > 0 || this.decoder.blocked || this.queue.serving()) return -1;
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
    if (this.decoder.blocked) {
      this.budget.waitForRequests(() => {
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
    if (this.queue.holdsFetch()) return false;
    return this.budget.roomForFetch(() => this.pump());
  }

  private dropBacklog(): void {
    let n = 0;
    for (const f of this.backlog) n += f.length;
    this.backlog = [];
    this.budget.giveBackRequest(n);
  }

  private startRequest(frame: Buffer): void {
    if (this.info.auth.rawTokens) {
      this.startRawToken(frame);
      return;
    }
    const parsed = parseRequestFrame(frame, this.opts.registry, this.info.auth);
    if (parsed.kind === 'refused') this.fail(parsed.err, parsed.why, parsed.details, parsed.reason);
    else if (parsed.kind === 'unsupported-api-versions') this.enqueueUnsupportedApiVersions(parsed.header, frame.length);
    else this.serve(parsed.header, parsed.handler, parsed.request, parsed.flexible, frame.length);
  }

  /** Serves a decoded request in its slot; the slot is written when all before it are. */
  private serve(header: RequestHeader, h: KafkaHandler, request: unknown, flexible: boolean, bytes: number): void {
    const started = process.hrtime.bigint();
    const slot = this.queue.add(header.apiKey, bytes);
    Promise.resolve()
      .then(() => h.handle(request, this.handlerContext(header, h, slot)))
      .then((response) => {
        if (response !== NO_RESPONSE) slot.chunks = responseFrame(header, flexible, h, response);
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

  private handlerContext(header: RequestHeader, h: KafkaHandler, slot: Slot): HandlerContext {
    return {
      header,
      apiVersion: header.apiVersion,
      connection: this.info,
      broker: this.opts.broker(),
      fetchBytes: {
        limit: () => this.budget.responseLimit(this.opts.fetchMaxBytes),
        hold: (n: number) => {
          if (this.closed || n === 0) return;
          slot.responseBytes += n;
          this.budget.holdResponse(n);
        },
      },
      log: this.apiLog(h),
    };
  }

  /** A bare SASL token after a v0 SaslHandshake: answered with a bare size-framed token. */
  private startRawToken(frame: Buffer): void {
    const slot = this.queue.add(-1, frame.length);
    void this.opts.sasl!.step(this.info.auth, frame).then((r) => {
      slot.done = true;
      if (!r.ok) {
        // The original flow has no error response: the broker just closes (KIP-43).
        this.fail(undefined, 'SASL authentication failed', {}, 'auth_failed');
        return;
      }
      slot.chunks = rawTokenFrame(r.response);
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
    this.queue.add(header.apiKey, bytes, unsupportedApiVersionsFrame(header, this.opts.registry));
    this.flush();
  }

  /** Writes every finished response at the front of the queue. */
  private flush(): void {
    if (this.closed) return;
    const written = this.queue.writeFinished();
    if (written.wrote) this.lastActivity = Date.now();
    if (written.blocked) this.writeBlocked = true;
    if (written.closeAfter) {
      this.endAfterResponse();
      return;
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
    this.queue.clear();
    this.budget.releaseAll();
    this.abort.abort();
    this.draining?.();
    this.opts.onClose();
  }
}
