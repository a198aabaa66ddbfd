/**
 * InitProducerId (key 22), versions 0–5. Flexible from v2.
 *
 *   InitProducerId Request =>
 *     transactional_id:NULLABLE_STRING transaction_timeout_ms:INT32
 *     producer_id:INT64 (v3+) producer_epoch:INT16 (v3+)      (KIP-360: bump an existing epoch)
 *
 *   InitProducerId Response =>
 *     throttle_time_ms:INT32 error_code:INT16 producer_id:INT64 producer_epoch:INT16
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const INIT_PRODUCER_ID_FIRST_FLEXIBLE = 2;

export interface InitProducerIdRequest {
  transactionalId: string | null;
  transactionTimeoutMs: number;
  producerId: number;
  producerEpoch: number;
}

export interface InitProducerIdResponse {
  throttleTimeMs: number;
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

export function decodeInitProducerIdRequest(r: Reader, version: number): InitProducerIdRequest {
  const flexible = version >= INIT_PRODUCER_ID_FIRST_FLEXIBLE;
  const transactionalId = r.nullableString(flexible);
  const transactionTimeoutMs = r.int32();
  const producerId = version >= 3 ? r.int64() : -1;
  const producerEpoch = version >= 3 ? r.int16() : -1;
  r.maybeTaggedFields(flexible);
  return { transactionalId, transactionTimeoutMs, producerId, producerEpoch };
}

export function encodeInitProducerIdResponse(w: Writer, version: number, res: InitProducerIdResponse): void {
  const flexible = version >= INIT_PRODUCER_ID_FIRST_FLEXIBLE;
  w.int32(res.throttleTimeMs).int16(res.errorCode).int64(res.producerId).int16(res.producerEpoch);
  w.maybeTaggedFields(flexible);
}
