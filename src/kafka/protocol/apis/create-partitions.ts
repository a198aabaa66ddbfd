/**
 * CreatePartitions (key 37), versions 0–3. Flexible from v2.
 *
 *   CreatePartitions Request =>
 *     [topics] => name:STRING count:INT32 [assignments] (nullable) => [broker_ids:INT32]
 *     timeout_ms:INT32 validate_only:BOOLEAN
 *
 *   CreatePartitions Response =>
 *     throttle_time_ms:INT32
 *     [results] => name:STRING error_code:INT16 error_message:NULLABLE_STRING
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const CREATE_PARTITIONS_FIRST_FLEXIBLE = 2;

export interface CreatePartitionsRequest {
  topics: { name: string; count: number }[];
  timeoutMs: number;
  validateOnly: boolean;
}

export interface CreatePartitionsResponse {
  throttleTimeMs: number;
  results: { name: string; errorCode: number; errorMessage: string | null }[];
}

export function decodeCreatePartitionsRequest(r: Reader, version: number): CreatePartitionsRequest {
  const flexible = version >= CREATE_PARTITIONS_FIRST_FLEXIBLE;
  const topics = r.array(flexible, (r) => {
    const name = r.string(flexible);
    const count = r.int32();
    r.nullableArray(flexible, (r) => {
      r.array(flexible, (r) => r.int32());
      r.maybeTaggedFields(flexible);
    });
    r.maybeTaggedFields(flexible);
    return { name, count };
  });
  const timeoutMs = r.int32();
  const validateOnly = r.bool();
  r.maybeTaggedFields(flexible);
  return { topics, timeoutMs, validateOnly };
}

export function encodeCreatePartitionsResponse(w: Writer, version: number, res: CreatePartitionsResponse): void {
  const flexible = version >= CREATE_PARTITIONS_FIRST_FLEXIBLE;
  w.int32(res.throttleTimeMs);
  w.array(res.results, flexible, (w, t) => {
    w.string(t.name, flexible).int16(t.errorCode).nullableString(t.errorMessage, flexible).maybeTaggedFields(flexible);
  });
  w.maybeTaggedFields(flexible);
}
