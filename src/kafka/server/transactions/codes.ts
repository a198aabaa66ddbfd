/**
 * The errors the transaction coordinator answers with. Kafka's table as Weir generates it (from
 * kafkajs) stops before PRODUCER_FENCED (90, KIP-588), so that one is added here.
 */
import { errorCode, type KafkaErrorName } from '../../protocol/error-codes.js';

export type TxnErrorName = KafkaErrorName | 'PRODUCER_FENCED';

/** Kafka's Errors.PRODUCER_FENCED: a newer producer holds the transactional id (KIP-588). */
export const PRODUCER_FENCED_CODE = 90;

export function txnErrorCode(name: TxnErrorName | null): number {
  if (name === null) return 0;
  return name === 'PRODUCER_FENCED' ? PRODUCER_FENCED_CODE : errorCode(name);
}

/**
 * PRODUCER_FENCED as a client of `version` understands it: Kafka answers INVALID_PRODUCER_EPOCH
 * below the first version that knows PRODUCER_FENCED (InitProducerId v4, AddPartitionsToTxn,
 * AddOffsetsToTxn and EndTxn v2).
 */
export function fencedFor(name: TxnErrorName | null, version: number, firstVersionWithFenced: number): number {
  return name === 'PRODUCER_FENCED' && version < firstVersionWithFenced ? errorCode('INVALID_PRODUCER_EPOCH') : txnErrorCode(name);
}
