/**
 * The writes of one chunk of a cleaner pass, and their one LMDB transaction: rewritten and
 * deleted batches (with the aborted-transaction index rows of the ABORT markers deleted), the
 * segment rows whose size or state changed, the cleaner's record. The
 * in-memory partition (segment list, sizes) and the store's byte counter follow once the
 * transaction is durable, so they never count a rewrite a crash could still take back.
 *
 * A closed segment the pass leaves without a batch is folded into the segment before it, which
 * then spans its offsets (Kafka's cleaner groups small segments likewise): a compacted topic
 * written for years would otherwise keep a row, and a segment in memory, for every segment it
 * ever rolled.
 */
import type { StoreCounters } from '../counters.js';
import { logKey } from '../keys.js';
import { durable, sameTransaction, type CleanerRecord, type LmdbEnv, type SegmentMeta } from '../lmdb-env.js';
import type { PartitionState } from '../partition.js';

interface SegmentChange {
  bytesDelta: number;
  /** The pass compacted the whole segment: when (kept if it was compacted before), and its tombstones. */
  completed?: { cleanedAt: number; tombstones: number };
  /** The segment now ends here, having absorbed the empty segments after it. */
  nextOffset?: number;
  /** Emptied and folded into the segment before it: its row goes. */
  absorbed?: boolean;
}

export class Chunk {
  readonly rows: { key: Buffer; value: Buffer | null }[] = [];
  /** Aborted-transaction index rows that go with the ABORT markers this chunk deletes. */
  private readonly txnIndexRemovals: Buffer[] = [];
  private readonly changes = new Map<SegmentMeta, SegmentChange>();
  bytesDelta = 0;
  recordsRemoved = 0;

  /** Nothing to write. */
  get empty(): boolean {
    return this.rows.length === 0 && this.changes.size === 0;
  }

  /** Removes the aborted-transaction index row of the ABORT marker at `key` (deleted in this chunk). */
  dropAbortedTxnRow(key: Buffer): void {
    this.txnIndexRemovals.push(key);
  }

  /** Puts a filtered batch back (null: deletes it); `delta` is its change in bytes. */
  rewrite(key: Buffer, value: Buffer | null, segment: SegmentMeta, delta: number, recordsRemoved: number): void {
    this.rows.push({ key, value });
    this.change(segment).bytesDelta += delta;
    this.bytesDelta += delta;
    this.recordsRemoved += recordsRemoved;
  }

  /** The pass compacted all of `segment`; folds it into the one before when it is left empty. */
  complete(segments: readonly SegmentMeta[], segment: SegmentMeta, cleanedAt: number, tombstones: number): void {
    if ((this.changes.get(segment)?.bytesDelta ?? 0) + segment.bytes === 0 && this.absorb(segments, segment)) return;
    if (segment.cleanedAt !== undefined && segment.tombstones === tombstones) return;
    this.change(segment).completed = { cleanedAt, tombstones };
  }

  private absorb(segments: readonly SegmentMeta[], segment: SegmentMeta): boolean {
    let i = segments.indexOf(segment) - 1;
    while (i >= 0 && this.changes.get(segments[i]!)?.absorbed === true) i--;
    const before = segments[i];
    if (before === undefined || (this.changes.get(before)?.nextOffset ?? before.nextOffset) !== segment.baseOffset) return false;
    this.change(before).nextOffset = segment.nextOffset;
    this.change(segment).absorbed = true;
    return true;
  }

  private change(segment: SegmentMeta): SegmentChange {
    let change = this.changes.get(segment);
    if (change === undefined) this.changes.set(segment, (change = { bytesDelta: 0 }));
    return change;
  }

  /** Writes the chunk in one transaction; once durable, brings the in-memory state in line. */
  async commit(env: LmdbEnv, p: PartitionState, counters: StoreCounters, record: CleanerRecord): Promise<void> {
    const write = env.root.batch(() => {
      for (const { key, value } of this.rows) sameTransaction(value === null ? env.batches.remove(key) : env.batches.put(key, value));
      for (const key of this.txnIndexRemovals) sameTransaction(env.txnIndex.remove(key));
      for (const [segment, change] of this.changes) {
        const key = logKey(p.id, segment.baseOffset);
        sameTransaction(change.absorbed === true ? env.segments.remove(key) : env.segments.put(key, changed(segment, change)));
      }
      sameTransaction(env.cleaner.put(p.id, record));
    });
    await durable(write);
    for (const [segment, change] of this.changes) {
      if (change.absorbed === true) p.segments.splice(p.segments.indexOf(segment), 1);
      else Object.assign(segment, changed(segment, change));
    }
    p.sizeBytes += this.bytesDelta;
    counters.usedBytes += this.bytesDelta;
  }
}

function changed(segment: SegmentMeta, change: SegmentChange): SegmentMeta {
  const row: SegmentMeta = { ...segment, bytes: segment.bytes + change.bytesDelta, nextOffset: change.nextOffset ?? segment.nextOffset };
  if (change.completed !== undefined) {
    row.cleanedAt = segment.cleanedAt ?? change.completed.cleanedAt;
    row.tombstones = change.completed.tombstones;
  }
  return row;
}
