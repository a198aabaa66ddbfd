/**
 * A listener-wide cap on request bytes held in memory (Kafka's `queued.max.request.bytes`).
 * A request's bytes are reserved as soon as its size prefix is read (frame-decoder.ts), before
 * its body arrives, and given back when its response is written or its connection closes: a
 * partial request counts as much as a complete one. A connection whose next request cannot be
 * reserved stops being read (TCP backpressure) until bytes are given back.
 *
 * A reservation is granted while it fits under the cap, or whenever nothing at all is held, so a
 * request larger than the cap (kafka.socket_request_max_bytes may exceed it) still passes alone. Besides,
 * a connection holding nothing may always read one request of up to SMALL_REQUEST_BYTES past the
 * cap (connection.ts), so while large partial requests hold the budget, small ones (Metadata,
 * heartbeats, a small produce) keep flowing. The worst case is then
 * max(max_queued_request_bytes, socket_request_max_bytes) + max_connections × SMALL_REQUEST_BYTES.
 */
export const SMALL_REQUEST_BYTES = 64 * 1024;

export class ByteBudget {
  private used = 0;
  private peak = 0;
  private readonly max: number;
  private waiters: Array<() => void> = [];

  constructor(max: number) {
    this.max = max;
  }

  get usedBytes(): number {
    return this.used;
  }

  /** Bytes left under the cap (0 when spent or past it). */
  get availableBytes(): number {
    return Math.max(0, this.max - this.used);
  }

  /** Highest usedBytes seen (metrics, tests). */
  get peakBytes(): number {
    return this.peak;
  }

  /** Reserves `n` bytes if they fit (or nothing is held); false: call `waitFor` and retry when woken. */
  tryTake(n: number): boolean {
    if (this.used > 0 && this.used + n > this.max) return false;
    this.take(n);
    return true;
  }

  /** Reserves `n` bytes whether or not they fit (the small-request allowance). */
  take(n: number): void {
    this.used += n;
    if (this.used > this.peak) this.peak = this.used;
  }

  release(n: number): void {
    if (n === 0) return;
    this.used -= n;
    if (this.waiters.length === 0) return;
    const woken = this.waiters;
    this.waiters = [];
    for (const w of woken) w();
  }

  /** Calls `wake` once, at the next release. */
  waitFor(wake: () => void): void {
    this.waiters.push(wake);
  }
}
