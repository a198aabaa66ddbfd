/**
 * One warning line per interval for a warning that can repeat as fast as clients can provoke it
 * (100k retained messages over the cap, 2000 refused connections): the first occurrence is logged
 * at once, later ones within `intervalMs` are only counted, and the first one after the interval
 * is logged with `suppressed`, how many were not logged since the previous line. The bridge's
 * counters (and `/metrics`) still see every occurrence.
 */
/** Where the lines go: a logger's `warn` (or any level, by a small adapter). */
export interface WarnSink {
  warn(fields: Record<string, unknown>, message: string): void;
}

export class WarnLimiter {
  private lastLogged = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly log: WarnSink,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a `warn` now would only be counted: lets a hot caller skip building its fields. */
  get quiet(): boolean {
    return this.now() - this.lastLogged < this.intervalMs;
  }

  /** Counts occurrences that were not logged, for the next line's count. */
  countSuppressed(occurrences = 1): void {
    this.suppressed += occurrences;
  }

  warn(fields: Record<string, unknown>, message: string): void {
    const now = this.now();
    if (now - this.lastLogged < this.intervalMs) {
      this.suppressed++;
      return;
    }
    const suppressed = this.suppressed;
    this.lastLogged = now;
    this.suppressed = 0;
    if (suppressed === 0) this.log.warn(fields, message);
    else this.log.warn({ ...fields, suppressed }, `${message} (${suppressed} more like it not logged in the last ${Math.round(this.intervalMs / 1000)} s)`);
  }
}
