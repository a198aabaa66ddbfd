/**
 * Fetch (key 1), versions 4–12. Flexible from v12. (v13+ addresses topics by id: not served.)
 *
 *   Fetch Request =>
 *     replica_id:INT32 max_wait_ms:INT32 min_bytes:INT32 max_bytes:INT32 isolation_level:INT8
 *     session_id:INT32 session_epoch:INT32                       (v7+)
 *     [topics] => topic:STRING [partitions]
 *       partitions => partition:INT32 current_leader_epoch:INT32 (v9+) fetch_offset:INT64
 *                     last_fetched_epoch:INT32 (v12+) log_start_offset:INT64 (v5+)
 *                     partition_max_bytes:INT32
 *     [forgotten_topics_data] (v7+) => topic:STRING [partitions:INT32]
 *     rack_id:STRING (v11+)
 *
 *   Fetch Response =>
 *     throttle_time_ms:INT32 error_code:INT16 (v7+) session_id:INT32 (v7+)
 *     [responses] => topic:STRING [partitions]
 *       partitions => partition_index:INT32 error_code:INT16 high_watermark:INT64
 *                     last_stable_offset:INT64 log_start_offset:INT64 (v5+)
 *                     [aborted_transactions] (nullable) => producer_id:INT64 first_offset:INT64
 *                     preferred_read_replica:INT32 (v11+)
 *                     records:RECORDS (nullable bytes; Weir always sends non-null, maybe empty)
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const FETCH_FIRST_FLEXIBLE = 12;

export interface FetchPartitionRequest {
  partition: number;
  currentLeaderEpoch: number;
  fetchOffset: number;
  logStartOffset: number;
  partitionMaxBytes: number;
}

export interface FetchRequest {
  replicaId: number;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  isolationLevel: number;
  sessionId: number;
  sessionEpoch: number;
  topics: { topic: string; partitions: FetchPartitionRequest[] }[];
}

export interface FetchPartitionResponse {
  partitionIndex: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  /** read_committed: the aborted transactions whose records `records` may hold; null for read_uncommitted. */
  abortedTransactions: { producerId: number; firstOffset: number }[] | null;
  /** Whole stored batches, referenced (not copied) into the response. */
  records: Buffer[];
  recordsBytes: number;
}

export interface FetchResponse {
  throttleTimeMs: number;
  errorCode: number;
  sessionId: number;
  responses: { topic: string; partitions: FetchPartitionResponse[] }[];
}

export function decodeFetchRequest(r: Reader, version: number): FetchRequest {
  const flexible = version >= FETCH_FIRST_FLEXIBLE;
  const replicaId = r.int32();
  const maxWaitMs = r.int32();
  const minBytes = r.int32();
  const maxBytes = r.int32();
  const isolationLevel = r.int8();
  const sessionId = version >= 7 ? r.int32() : 0;
  const sessionEpoch = version >= 7 ? r.int32() : -1;
  const topics = r.array(flexible, (r) => {
    const topic = r.string(flexible);
    const partitions = r.array(flexible, (r) => {
      const partition = r.int32();
      const currentLeaderEpoch = version >= 9 ? r.int32() : -1;
      const fetchOffset = r.int64();
      if (version >= 12) r.int32(); // last_fetched_epoch: no divergence on a single node
      const logStartOffset = version >= 5 ? r.int64() : -1;
      const partitionMaxBytes = r.int32();
      r.maybeTaggedFields(flexible);
      return { partition, currentLeaderEpoch, fetchOffset, logStartOffset, partitionMaxBytes };
    });
    r.maybeTaggedFields(flexible);
    return { topic, partitions };
  });
  if (version >= 7) {
    r.array(flexible, (r) => {
      r.string(flexible);
      r.array(flexible, (r) => r.int32());
      r.maybeTaggedFields(flexible);
    });
  }
  if (version >= 11) r.string(flexible);
  r.maybeTaggedFields(flexible);
  return { replicaId, maxWaitMs, minBytes, maxBytes, isolationLevel, sessionId, sessionEpoch, topics };
}

export function encodeFetchResponse(w: Writer, version: number, res: FetchResponse): void {
  const flexible = version >= FETCH_FIRST_FLEXIBLE;
  w.int32(res.throttleTimeMs);
  if (version >= 7) w.int16(res.errorCode).int32(res.sessionId);
  w.array(res.responses, flexible, (w, t) => {
    w.string(t.topic, flexible);
    w.array(t.partitions, flexible, (w, p) => {
      w.int32(p.partitionIndex).int16(p.errorCode).int64(p.highWatermark).int64(p.lastStableOffset);
      if (version >= 5) w.int64(p.logStartOffset);
      w.nullableArray(p.abortedTransactions, flexible, (w, a) => {
        w.int64(a.producerId).int64(a.firstOffset);
        w.maybeTaggedFields(flexible);
      });
      if (version >= 11) w.int32(-1);
      w.bytesFromChunks(p.records, p.recordsBytes, flexible);
      w.maybeTaggedFields(flexible);
    });
    w.maybeTaggedFields(flexible);
  });
  w.maybeTaggedFields(flexible);
}
