/**
 * A listener-wide cap on request bytes held in memory (Kafka's `queued.max.request.bytes`):
 * frames decoded and not yet answered count against it. When it is spent, connections that
 * already have a request in flight stop reading; a connection with nothing in flight may still
 * read one, so every client makes progress and the cap cannot deadlock. The worst case is then
 * max_queued_request_bytes + max_connections × max_frame_bytes, not × max_in_flight as well.
 */
export class ByteBudget {
  private used = 0;
  private peak = 0;
  private readonly max: number;
  private readonly waiters = new Set<() => void>();

  constructor(max: number) {
    this.max = max;
  }

  get exhausted(): boolean {
    return this.used >= this.max;
  }

  get usedBytes(): number {
    return this.used;
  }

  /** Highest usedBytes seen (metrics, tests). */
  get peakBytes(): number {
    return this.peak;
  }

  take(n: number): void {
    this.used += n;
    if (this.used > this.peak) this.peak = this.used;
  }

  release(n: number): void {
    const wasExhausted = this.exhausted;
    this.used -= n;
    if (wasExhausted && !this.exhausted) {
      for (const w of [...this.waiters]) w();
    }
  }

  /** Calls `wake` whenever the budget stops being exhausted, until the returned function is called. */
  onAvailable(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }
}
