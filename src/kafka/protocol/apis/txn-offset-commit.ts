/**
 * TxnOffsetCommit (key 28), versions 0–3; flexible from v3.
 *
 *   TxnOffsetCommit Request => transactional_id:STRING group_id:STRING producer_id:INT64 producer_epoch:INT16
 *                              generation_id:INT32 (v3+) member_id:STRING (v3+)
 *                              group_instance_id:NULLABLE_STRING (v3+)               (KIP-447)
 *                              [topics] => name:STRING
 *                                          [partitions] => partition_index:INT32 committed_offset:INT64
 *                                                          committed_leader_epoch:INT32 (v2+)
 *                                                          committed_metadata:NULLABLE_STRING
 *
 *   TxnOffsetCommit Response => throttle_time_ms:INT32
 *                               [topics] => name:STRING [partitions] => partition_index:INT32 error_code:INT16
 *
 * Before v3 the request carries no member: generation -1 and member "" (Kafka's defaults).
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';
import { decodeCommittedTopics, encodePartitionErrors, type OffsetCommitRequest } from './offset-commit.js';

export const TXN_OFFSET_COMMIT_FIRST_FLEXIBLE = 3;

export interface TxnOffsetCommitRequest {
  transactionalId: string;
  groupId: string;
  producerId: number;
  producerEpoch: number;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  topics: OffsetCommitRequest['topics'];
}

export interface TxnOffsetCommitResponse {
  throttleTimeMs: number;
  topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
}

export function decodeTxnOffsetCommitRequest(r: Reader, version: number): TxnOffsetCommitRequest {
  const flexible = version >= TXN_OFFSET_COMMIT_FIRST_FLEXIBLE;
  const transactionalId = r.string(flexible);
  const groupId = r.string(flexible);
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const generationId = version >= 3 ? r.int32() : -1;
  const memberId = version >= 3 ? r.string(flexible) : '';
  const groupInstanceId = version >= 3 ? r.nullableString(flexible) : null;
  const topics = decodeCommittedTopics(r, flexible, version >= 2);
  r.maybeTaggedFields(flexible);
  return { transactionalId, groupId, producerId, producerEpoch, generationId, memberId, groupInstanceId, topics };
}

export function encodeTxnOffsetCommitResponse(w: Writer, version: number, res: TxnOffsetCommitResponse): void {
  const flexible = version >= TXN_OFFSET_COMMIT_FIRST_FLEXIBLE;
  w.int32(res.throttleTimeMs);
  encodePartitionErrors(w, res.topics, flexible);
  w.maybeTaggedFields(flexible);
}
