/** The cleaner's reads of stored batches, shared by the map build, the aborted walk and the rewrite. */
import { LAST_OFFSET_DELTA_OFFSET } from '../../kafka/protocol/record-batch.js';
import { logKey, offsetOfLogKey } from '../keys.js';
import type { LmdbEnv } from '../lmdb-env.js';
import type { PartitionState } from '../partition.js';

export interface StoredBatch {
  baseOffset: number;
  value: Buffer;
}

/** One past the last offset a stored batch spans (its records may have gaps). */
export function batchEnd(batch: StoredBatch): number {
  return batch.baseOffset + batch.value.readInt32BE(LAST_OFFSET_DELTA_OFFSET) + 1;
}

/**
 * Stored batches of `p` with base offsets in [from, end), or when `containing`, from the one
 * holding offset `from`; until about `maxBytes` or `maxBatches` are read (at least one batch).
 */
export function readBatches(env: LmdbEnv, p: PartitionState, from: number, end: number, limits: { maxBytes: number; maxBatches: number; containing: boolean }): StoredBatch[] {
  const out: StoredBatch[] = [];
  if (from >= end) return out;
  const start = (limits.containing ? p.batchKeyAtOrBefore(from) : undefined) ?? logKey(p.id, from);
  let bytes = 0;
  for (const { key, value } of env.batches.getRange({ start, end: logKey(p.id, end) })) {
    out.push({ baseOffset: offsetOfLogKey(key), value });
    bytes += value.length;
    if (bytes >= limits.maxBytes || out.length >= limits.maxBatches) break;
  }
  return out;
}
