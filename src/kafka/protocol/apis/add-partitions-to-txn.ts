/**
 * AddPartitionsToTxn (key 24), versions 0–3; flexible from v3. v2 only says the client knows
 * PRODUCER_FENCED (KIP-588); v4+ (KIP-890) batch several transactions and are for brokers only.
 *
 *   AddPartitionsToTxn Request => transactional_id:STRING producer_id:INT64 producer_epoch:INT16
 *                                 [topics] => name:STRING [partitions:INT32]
 *
 *   AddPartitionsToTxn Response => throttle_time_ms:INT32
 *                                  [results] => name:STRING
 *                                               [results] => partition_index:INT32 error_code:INT16
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';
import { encodePartitionErrors } from './offset-commit.js';

export const ADD_PARTITIONS_TO_TXN_FIRST_FLEXIBLE = 3;

export interface TxnTopicPartitions {
  name: string;
  partitions: number[];
}

export interface AddPartitionsToTxnRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  topics: TxnTopicPartitions[];
}

export interface AddPartitionsToTxnResponse {
  throttleTimeMs: number;
  results: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
}

export function decodeAddPartitionsToTxnRequest(r: Reader, version: number): AddPartitionsToTxnRequest {
  const flexible = version >= ADD_PARTITIONS_TO_TXN_FIRST_FLEXIBLE;
  const transactionalId = r.string(flexible);
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const topics = r.array(flexible, (r) => {
    const name = r.string(flexible);
    const partitions = r.array(flexible, (r) => r.int32());
    r.maybeTaggedFields(flexible);
    return { name, partitions };
  });
  r.maybeTaggedFields(flexible);
  return { transactionalId, producerId, producerEpoch, topics };
}

export function encodeAddPartitionsToTxnResponse(w: Writer, version: number, res: AddPartitionsToTxnResponse): void {
  const flexible = version >= ADD_PARTITIONS_TO_TXN_FIRST_FLEXIBLE;
  w.int32(res.throttleTimeMs);
  encodePartitionErrors(w, res.results, flexible);
  w.maybeTaggedFields(flexible);
}
