/**
 * The aborted-transaction index (Kafka's per-segment .txnindex, KIP-98): one row per aborted
 * transaction, keyed by its ABORT marker's offset, written in the marker's own transaction
 * (transaction-builder.ts). A read_committed Fetch lists the aborted transactions whose records
 * its answer may hold, and the consumer drops those records; retention drops the rows whose
 * marker left the log.
 */
import { logKey, offsetOfLogKey, partitionEndKey } from './keys.js';
import { sameTransaction, type LmdbEnv } from './lmdb-env.js';
import type { AbortedTransaction } from './types.js';

/**
 * Transactions whose ABORT marker is at or after `fromOffset` and whose first offset is below
 * `toOffset` (Kafka's LogSegment.collectAbortedTxns). Aborts are rare and a transaction is
 * bounded by transaction.max.timeout.ms, so the scan from `fromOffset` stays short.
 */
export function abortedTransactions(env: LmdbEnv, pid: number, fromOffset: number, toOffset: number): AbortedTransaction[] {
  return abortedRanges(env, pid, fromOffset, toOffset).map(({ producerId, firstOffset }) => ({ producerId, firstOffset }));
}

/** An aborted transaction's records span [firstOffset, markerOffset) (its producer's batches in it). */
export interface AbortedRange extends AbortedTransaction {
  markerOffset: number;
}

/** abortedTransactions, with each one's ABORT marker offset (the log cleaner's view). */
export function abortedRanges(env: LmdbEnv, pid: number, fromOffset: number, toOffset: number): AbortedRange[] {
  const found: AbortedRange[] = [];
  for (const { key, value } of env.txnIndex.getRange({ start: logKey(pid, fromOffset), end: partitionEndKey(pid) })) {
    if (value.firstOffset < toOffset) found.push({ producerId: value.producerId, firstOffset: value.firstOffset, markerOffset: offsetOfLogKey(key) });
  }
  return found;
}

/** Issues, in the caller's transaction, the removal of the rows whose marker is below `offset`. */
export function dropAbortedBefore(env: LmdbEnv, pid: number, offset: number): void {
  for (const key of env.txnIndex.getKeys({ start: logKey(pid, 0), end: logKey(pid, offset) })) {
    if (offsetOfLogKey(key as Buffer) < offset) sameTransaction(env.txnIndex.remove(Buffer.from(key as Buffer)));
  }
}
