/**
 * OffsetCommit (key 8), versions 2–9; flexible from v8.
 *
 *   OffsetCommit Request => group_id:STRING generation_id_or_member_epoch:INT32 member_id:STRING
 *                           group_instance_id:NULLABLE_STRING (v7+, KIP-345)
 *                           retention_time_ms:INT64 (v2–4)
 *                           [topics] => name:STRING
 *                                       [partitions] => partition_index:INT32 committed_offset:INT64
 *                                                       committed_leader_epoch:INT32 (v6+)
 *                                                       committed_metadata:NULLABLE_STRING
 *
 *   OffsetCommit Response => throttle_time_ms:INT32 (v3+)
 *                            [topics] => name:STRING [partitions] => partition_index:INT32 error_code:INT16
 *
 * v9 only says the client also speaks KIP-848; a classic group reads it as v8. retention_time_ms
 * is ignored: committed offsets stay until the group's offsets are deleted.
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const OFFSET_COMMIT_FIRST_FLEXIBLE = 8;

export interface OffsetCommitRequest {
  groupId: string;
  /** -1 for a standalone consumer that only stores offsets (no group membership). */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  topics: {
    name: string;
    partitions: { partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }[];
  }[];
}

export interface OffsetCommitResponse {
  topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
}

export function decodeOffsetCommitRequest(r: Reader, version: number): OffsetCommitRequest {
  const flexible = version >= OFFSET_COMMIT_FIRST_FLEXIBLE;
  const groupId = r.string(flexible);
  const generationId = r.int32();
  const memberId = r.string(flexible);
  const groupInstanceId = version >= 7 ? r.nullableString(flexible) : null;
  if (version <= 4) r.int64(); // retention_time_ms
  const topics = decodeCommittedTopics(r, flexible, version >= 6);
  r.maybeTaggedFields(flexible);
  return { groupId, generationId, memberId, groupInstanceId, topics };
}

/** The topics array of OffsetCommit and TxnOffsetCommit, which differ only in when committed_leader_epoch came. */
export function decodeCommittedTopics(r: Reader, flexible: boolean, withLeaderEpoch: boolean): OffsetCommitRequest['topics'] {
  return r.array(flexible, (r) => {
    const name = r.string(flexible);
    const partitions = r.array(flexible, (r) => {
      const partitionIndex = r.int32();
      const committedOffset = r.int64();
      const committedLeaderEpoch = withLeaderEpoch ? r.int32() : -1;
      const committedMetadata = r.nullableString(flexible);
      r.maybeTaggedFields(flexible);
      return { partitionIndex, committedOffset, committedLeaderEpoch, committedMetadata };
    });
    r.maybeTaggedFields(flexible);
    return { name, partitions };
  });
}

export function encodeOffsetCommitResponse(w: Writer, version: number, res: OffsetCommitResponse): void {
  const flexible = version >= OFFSET_COMMIT_FIRST_FLEXIBLE;
  if (version >= 3) w.int32(0);
  encodePartitionErrors(w, res.topics, flexible);
  w.maybeTaggedFields(flexible);
}

/**
 * [topics] => name:STRING [partitions] => partition_index:INT32 error_code:INT16: the answer of
 * OffsetCommit, TxnOffsetCommit and AddPartitionsToTxn alike.
 */
export function encodePartitionErrors(w: Writer, topics: OffsetCommitResponse['topics'], flexible: boolean): void {
  w.array(topics, flexible, (w, t) => {
    w.string(t.name, flexible);
    w.array(t.partitions, flexible, (w, p) => w.int32(p.partitionIndex).int16(p.errorCode).maybeTaggedFields(flexible));
    w.maybeTaggedFields(flexible);
  });
}
