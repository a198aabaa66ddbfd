import type { StoredRecords } from './stored-records.js';

/**
 * One mirrored partition: where the mirror reads next, what it has sent and not yet seen
 * acknowledged, and the cursor — the end of the contiguous prefix the upstream acknowledged.
 *
 * The cursor rule (docs/architecture.md, "The mirror out"): the durable cursor moves to N only when
 * every record below N was acknowledged by the upstream (acks=all). Acknowledgements may come back
 * out of order after a retry, so each sent record is an entry in a queue in offset order and the
 * cursor advances over the done entries at its head; a failed entry stops it there.
 *
 * Compaction leaves gaps: offsets that hold no record (batches removed whole, records thinned out
 * of a batch, a batch kept with none). The pump passes them (`passed`) once it has handed over
 * every record before them; the cursor passes them with the acknowledgement of the last record
 * sent before them, and at once when nothing sent is unacknowledged, so it reaches the high
 * watermark when the log ends in a gap.
 */

export interface SentRecord {
  readonly pm: PartitionMirror;
  /** The partition's generation when it was sent; a rewind makes older reports stale. */
  readonly generation: number;
  readonly offset: number;
  readonly bytes: number;
  /** Sent on its own (isolating a refusal), so an error names this record, not its batch. */
  readonly alone: boolean;
  /** Acknowledged (or dead-lettered under on_refused: skip). */
  done: boolean;
  failed: boolean;
}

export type PartitionPhase =
  /** Reading and sending. */
  | 'running'
  /** A send failed: no new sends until every report of this generation is back, then resend from the cursor. */
  | 'rewinding';

export class PartitionMirror {
  readonly cursorName: string;
  readonly topic: string;
  readonly partition: number;
  readonly upstreamTopic: string;
  /** Every offset below this was acknowledged upstream (persisted by the next cursor save). */
  cursor: number;
  /** The cursor value last written to the store. */
  persisted: number;
  /** Next offset to read and send. */
  nextRead: number;
  /**
   * Every offset below this was sent in this generation or holds no record: the cursor may move
   * here once every record sent in this generation is acknowledged.
   */
  private passedTo: number;
  generation = 0;
  phase: PartitionPhase = 'running';
  /** Offsets below this are sent one at a time, each flushed alone (finding which record the upstream refuses). */
  isolateUntil = 0;
  /** Records handed to the client and not yet reported, of every generation. */
  outstanding = 0;
  /**
   * Sent records in offset order: before `head` the acknowledged ones the saved cursor does not
   * cover yet (a crash would send them again), from `head` on those of the current generation not
   * yet acknowledged.
   */
  private readonly queue: SentRecord[] = [];
  private head = 0;
  /** Records retention deleted before this mirror sent them (overflow policy drop-oldest). */
  dropped = 0;
  /** Records re-sent after a rewind or reconnect (upper bound on the duplicates they made). */
  resent = 0;
  /** Highest offset ever sent, to count re-sends. */
  private highestSent = -1;
  private drainWaiters: (() => void)[] = [];
  /** The stored batch opened last (pumps.ts reuses it while the window is shut). */
  leftover: StoredRecords | undefined;

  constructor(opts: { cursorName: string; topic: string; partition: number; upstreamTopic: string; cursor: number }) {
    this.cursorName = opts.cursorName;
    this.topic = opts.topic;
    this.partition = opts.partition;
    this.upstreamTopic = opts.upstreamTopic;
    this.cursor = opts.cursor;
    this.persisted = opts.cursor;
    this.nextRead = opts.cursor;
    this.passedTo = opts.cursor;
  }

  get inFlight(): number {
    return this.queue.length - this.head;
  }

  isolating(): boolean {
    return this.nextRead < this.isolateUntil;
  }

  /** Records one send; the caller passes the entry to the client as its opaque. */
  sent(offset: number, bytes: number): SentRecord {
    const entry: SentRecord = { pm: this, generation: this.generation, offset, bytes, alone: this.isolating(), done: false, failed: false };
    this.queue.push(entry);
    this.outstanding++;
    if (offset <= this.highestSent) this.resent++;
    else this.highestSent = offset;
    this.nextRead = offset + 1;
    this.passedTo = offset + 1;
    return entry;
  }

  /**
   * Every record below `end` the pump read was handed to the client: the offsets from `nextRead`
   * to `end` hold none (compaction removed them), so reading goes on at `end`.
   */
  passed(end: number): void {
    if (end <= this.nextRead) return;
    this.nextRead = end;
    this.passedTo = end;
    this.advanceCursor();
  }

  /** A report came back for `entry` (success or not); returns false when it is stale. */
  reported(entry: SentRecord): boolean {
    this.outstanding = Math.max(0, this.outstanding - 1);
    if (this.outstanding === 0) for (const w of this.drainWaiters.splice(0)) w();
    return entry.generation === this.generation;
  }

  /** Marks `entry` done and moves the cursor over the done prefix. */
  complete(entry: SentRecord): void {
    if (entry.generation !== this.generation) return;
    entry.done = true;
    this.advanceCursor();
  }

  /** Moves the cursor over the done entries at the head, and over the gap after them when none is left. */
  private advanceCursor(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.done) {
      this.cursor = this.queue[this.head]!.offset + 1;
      this.head++;
    }
    if (this.head === this.queue.length) this.cursor = Math.max(this.cursor, this.passedTo);
    if (this.head > 1024 && this.head * 2 > this.queue.length) this.dropSaved();
  }

  /** Drops the acknowledged entries the saved cursor covers. */
  private dropSaved(): void {
    const saved = this.firstAtOrAfter(this.persisted);
    this.queue.splice(0, saved);
    this.head -= saved;
  }

  /**
   * Records a crash now would send again (sent at or past the saved cursor): SendWindow counts
   * them against `max_in_flight`. Records, not offsets: a compacted log's gaps hold none.
   */
  unsavedRecords(): number {
    return this.queue.length - this.firstAtOrAfter(this.persisted);
  }

  /** Index of the first queue entry whose offset is ≥ `offset` (binary search: offsets ascend). */
  private firstAtOrAfter(offset: number): number {
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.queue[mid]!.offset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Stops sending until the reports of this generation are in; `rewind()` then resends from the cursor. */
  fail(entry: SentRecord): void {
    if (entry.generation !== this.generation) return;
    entry.failed = true;
    this.phase = 'rewinding';
  }

  /** Resolves once no record of this partition is in the client any more. */
  drained(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Starts a new generation at the cursor: every later report of the old one is ignored. The
   * acknowledged entries stay until a save covers them; they are all below the cursor, where the
   * new generation starts, so the queue stays in offset order.
   */
  rewind(): void {
    this.generation++;
    this.queue.length = this.head;
    this.nextRead = this.cursor;
    this.passedTo = this.cursor;
    this.phase = 'running';
  }

  /** The client was replaced: nothing of the old one will report any more. */
  reset(): void {
    this.outstanding = 0;
    for (const w of this.drainWaiters.splice(0)) w();
    this.rewind();
  }

  /** Retention moved the log start past the cursor (drop-oldest): skip what is gone. */
  moveToLogStart(logStartOffset: number): number {
    if (this.cursor >= logStartOffset) return 0;
    const gone = logStartOffset - this.cursor;
    this.cursor = logStartOffset;
    this.queue.length = 0;
    this.head = 0;
    // What was sent from the old position is reported under the old generation and ignored.
    this.generation++;
    this.nextRead = logStartOffset;
    this.passedTo = logStartOffset;
    return gone;
  }
}
