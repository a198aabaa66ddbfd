/**
 * AddOffsetsToTxn (key 25), versions 0–3; flexible from v3. v2 only says the client knows
 * PRODUCER_FENCED (KIP-588).
 *
 *   AddOffsetsToTxn Request  => transactional_id:STRING producer_id:INT64 producer_epoch:INT16 group_id:STRING
 *   AddOffsetsToTxn Response => throttle_time_ms:INT32 error_code:INT16
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const ADD_OFFSETS_TO_TXN_FIRST_FLEXIBLE = 3;

export interface AddOffsetsToTxnRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  groupId: string;
}

export interface TxnErrorResponse {
  throttleTimeMs: number;
  errorCode: number;
}

export function decodeAddOffsetsToTxnRequest(r: Reader, version: number): AddOffsetsToTxnRequest {
  const flexible = version >= ADD_OFFSETS_TO_TXN_FIRST_FLEXIBLE;
  const transactionalId = r.string(flexible);
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const groupId = r.string(flexible);
  r.maybeTaggedFields(flexible);
  return { transactionalId, producerId, producerEpoch, groupId };
}

export function encodeAddOffsetsToTxnResponse(w: Writer, version: number, res: TxnErrorResponse): void {
  w.int32(res.throttleTimeMs).int16(res.errorCode).maybeTaggedFields(version >= ADD_OFFSETS_TO_TXN_FIRST_FLEXIBLE);
}
