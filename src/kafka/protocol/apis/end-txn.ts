/**
 * EndTxn (key 26), versions 0–3; flexible from v3. v2 only says the client knows
 * PRODUCER_FENCED (KIP-588); v4–5 (KIP-890) are not served.
 *
 *   EndTxn Request  => transactional_id:STRING producer_id:INT64 producer_epoch:INT16 committed:BOOLEAN
 *   EndTxn Response => throttle_time_ms:INT32 error_code:INT16
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';
import type { TxnErrorResponse } from './add-offsets-to-txn.js';

export const END_TXN_FIRST_FLEXIBLE = 3;

export interface EndTxnRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  committed: boolean;
}

export function decodeEndTxnRequest(r: Reader, version: number): EndTxnRequest {
  const flexible = version >= END_TXN_FIRST_FLEXIBLE;
  const transactionalId = r.string(flexible);
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const committed = r.bool();
  r.maybeTaggedFields(flexible);
  return { transactionalId, producerId, producerEpoch, committed };
}

export function encodeEndTxnResponse(w: Writer, version: number, res: TxnErrorResponse): void {
  w.int32(res.throttleTimeMs).int16(res.errorCode).maybeTaggedFields(version >= END_TXN_FIRST_FLEXIBLE);
}
