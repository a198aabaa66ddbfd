/**
 * The first half of a cleaner pass: maps every key of the dirty records, [first dirty offset, end
 * of the clean range), to its latest offset (Kafka's `LogCleaner.buildOffsetMap`). The map has a
 * fixed size; when it fills, mapping stops at the first record whose key does not fit, and the
 * pass cleans only up to there (the next pass goes on from it). Records of aborted transactions
 * are not mapped (aborted-walk.ts): they never count as a key's latest value. Control batches
 * (transaction markers) are not mapped either: filterBatch never asks about their records, whose
 * 4-byte key is the marker's type, not a key of the topic.
 *
 * Reads go in slices of a bounded number of bytes, each its own LMDB read transaction, with the
 * event loop given back between slices: a long-lived read transaction would keep LMDB from
 * reusing the pages commits free meanwhile, and a long synchronous loop would stall appends.
 */
import { filterBatch, type FilteredRecord } from '../../kafka/protocol/batch-filter.js';
import { abortedRanges } from '../aborted-txn-index.js';
import type { LmdbEnv } from '../lmdb-env.js';
import type { PartitionState } from '../partition.js';
import { AbortedTransactionWalk } from './aborted-walk.js';
import type { KeyOffsetMap } from './offset-map.js';
import { batchEnd, readBatches } from './stored-batch.js';

export interface MapBuildContext {
  env: LmdbEnv;
  /** Bytes (and batches) read between two yields to the event loop. */
  sliceBytes: number;
  sliceBatches: number;
  /** Gives the event loop back (and slows down while appends wait). */
  pause(): Promise<void>;
  /** The pass must stop (store closing, topic deleted). */
  stopped(): boolean;
}

/**
 * Maps the keys of `p`'s records in [from, to) into `map` (cleared first). Resolves to the end of
 * the mapped range: `to`, or the offset of the first record that did not fit; undefined when the
 * pass was stopped. Records without a key are not mapped (the cleaner removes them, as Kafka's),
 * nor records of aborted transactions.
 */
export async function buildOffsetMap(ctx: MapBuildContext, p: PartitionState, map: KeyOffsetMap, from: number, to: number): Promise<number | undefined> {
  map.clear();
  let mapEnd = to;
  const mapRecord = (record: FilteredRecord): boolean => {
    const { offset, key } = record;
    if (offset < from || offset >= mapEnd || key === null) return true;
    if (!map.put(key, offset)) mapEnd = offset;
    return true;
  };
  const aborted = new AbortedTransactionWalk(abortedRanges(ctx.env, p.id, from, to));
  let next = from;
  // Only the first slice may start inside a batch (a previous pass's map ended there).
  let containing = true;
  while (next < mapEnd) {
    const slice = readBatches(ctx.env, p, next, mapEnd, { maxBytes: ctx.sliceBytes, maxBatches: ctx.sliceBatches, containing });
    containing = false;
    if (slice.length === 0) break;
    for (const batch of slice) {
      if (!aborted.aborted(batch)) filterBatch(batch.value, mapRecord);
      if (batch.baseOffset >= mapEnd) break;
    }
    const last = slice.at(-1)!;
    next = Math.max(next, batchEnd(last));
    await ctx.pause();
    if (ctx.stopped()) return undefined;
  }
  return mapEnd;
}
