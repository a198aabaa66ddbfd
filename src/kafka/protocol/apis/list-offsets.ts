/**
 * ListOffsets (key 2), versions 1–7. Flexible from v6.
 *
 *   ListOffsets Request =>
 *     replica_id:INT32 isolation_level:INT8 (v2+)
 *     [topics] => name:STRING [partitions]
 *       partitions => partition_index:INT32 current_leader_epoch:INT32 (v4+) timestamp:INT64
 *   timestamp: -1 latest, -2 earliest, -3 max timestamp (v7+, KIP-734), else a time in ms.
 *
 *   ListOffsets Response =>
 *     throttle_time_ms:INT32 (v2+)
 *     [topics] => name:STRING [partitions]
 *       partitions => partition_index:INT32 error_code:INT16 timestamp:INT64 offset:INT64
 *                     leader_epoch:INT32 (v4+)
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const LIST_OFFSETS_FIRST_FLEXIBLE = 6;
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
export const MAX_TIMESTAMP = -3;

export interface ListOffsetsRequest {
  replicaId: number;
  isolationLevel: number;
  topics: { name: string; partitions: { partitionIndex: number; timestamp: number }[] }[];
}

export interface ListOffsetsPartitionResponse {
  partitionIndex: number;
  errorCode: number;
  timestamp: number;
  offset: number;
  leaderEpoch: number;
}

export interface ListOffsetsResponse {
  throttleTimeMs: number;
  topics: { name: string; partitions: ListOffsetsPartitionResponse[] }[];
}

export function decodeListOffsetsRequest(r: Reader, version: number): ListOffsetsRequest {
  const flexible = version >= LIST_OFFSETS_FIRST_FLEXIBLE;
  const replicaId = r.int32();
  const isolationLevel = version >= 2 ? r.int8() : 0;
  const topics = r.array(flexible, (r) => {
    const name = r.string(flexible);
    const partitions = r.array(flexible, (r) => {
      const partitionIndex = r.int32();
      if (version >= 4) r.int32(); // current_leader_epoch: one node, no fencing
      const timestamp = r.int64();
      r.maybeTaggedFields(flexible);
      return { partitionIndex, timestamp };
    });
    r.maybeTaggedFields(flexible);
    return { name, partitions };
  });
  r.maybeTaggedFields(flexible);
  return { replicaId, isolationLevel, topics };
}

export function encodeListOffsetsResponse(w: Writer, version: number, res: ListOffsetsResponse): void {
  const flexible = version >= LIST_OFFSETS_FIRST_FLEXIBLE;
  if (version >= 2) w.int32(res.throttleTimeMs);
  w.array(res.topics, flexible, (w, t) => {
    w.string(t.name, flexible);
    w.array(t.partitions, flexible, (w, p) => {
      w.int32(p.partitionIndex).int16(p.errorCode).int64(p.timestamp).int64(p.offset);
      if (version >= 4) w.int32(p.leaderEpoch);
      w.maybeTaggedFields(flexible);
    });
    w.maybeTaggedFields(flexible);
  });
  w.maybeTaggedFields(flexible);
}
