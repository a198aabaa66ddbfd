/**
 * When the appends waiting for a group commit are due: the flush policy, with Kafka's topic
 * configs `flush.ms` and `flush.messages` and Weir's stronger meaning (acks wait for the flush).
 *
 * A commit is due when the oldest waiting append of a topic has waited that topic's `flush.ms`,
 * when the records waiting reach the smallest `flush.messages` among them, or when the bytes
 * waiting reach `FLUSH_BYTES`, whichever comes first. A due commit takes everything waiting, of
 * every topic: riding along costs nothing. So at sensor rates commits go by time, a few per
 * second, and every commit's fixed cost in pages written to flash (see lmdb-env.ts) is shared by
 * many records; at high rates they go by size and throughput does not wait on the clock.
 */

/** Bytes waiting that make a commit due whatever the topics' windows say. */
export const FLUSH_BYTES = 64 * 1024;

export interface FlushWaiter {
  /** performance.now() by which this append's commit must have started. */
  flushDeadline: number;
  /** The `flush.messages` of its topic. */
  flushMessages: number;
  recordCount: number;
  bytes: number;
}

export class FlushWindow {
  private earliestDeadline = Infinity;
  private minFlushMessages = Infinity;
  private records = 0;
  private bytes = 0;

  /** An append joined the waiting queue. */
  add(w: FlushWaiter): void {
    if (w.flushDeadline < this.earliestDeadline) this.earliestDeadline = w.flushDeadline;
    if (w.flushMessages < this.minFlushMessages) this.minFlushMessages = w.flushMessages;
    this.records += w.recordCount;
    this.bytes += w.bytes;
  }

  /** Appends left the waiting queue for a commit: recount what is left (usually nothing). */
  reset(stillWaiting: readonly FlushWaiter[]): void {
    this.earliestDeadline = Infinity;
    this.minFlushMessages = Infinity;
    this.records = 0;
    this.bytes = 0;
    for (const w of stillWaiting) this.add(w);
  }

  get waitingBytes(): number {
    return this.bytes;
  }

  isDue(now: number): boolean {
    return now >= this.earliestDeadline || this.records >= this.minFlushMessages || this.bytes >= FLUSH_BYTES;
  }

  /** Milliseconds until the earliest deadline (Infinity when nothing waits). */
  msUntilDue(now: number): number {
    return this.earliestDeadline - now;
  }
}
