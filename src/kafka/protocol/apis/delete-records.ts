/**
 * DeleteRecords (key 21), versions 0–2. Flexible from v2.
 *
 *   DeleteRecords Request =>
 *     [topics] => name:STRING [partitions] => partition_index:INT32 offset:INT64 (-1 = high watermark)
 *     timeout_ms:INT32
 *
 *   DeleteRecords Response =>
 *     throttle_time_ms:INT32
 *     [topics] => name:STRING [partitions] => partition_index:INT32 low_watermark:INT64 error_code:INT16
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const DELETE_RECORDS_FIRST_FLEXIBLE = 2;

export interface DeleteRecordsRequest {
  topics: { name: string; partitions: { partitionIndex: number; offset: number }[] }[];
  timeoutMs: number;
}

export interface DeleteRecordsResponse {
  throttleTimeMs: number;
  topics: { name: string; partitions: { partitionIndex: number; lowWatermark: number; errorCode: number }[] }[];
}

export function decodeDeleteRecordsRequest(r: Reader, version: number): DeleteRecordsRequest {
  const flexible = version >= DELETE_RECORDS_FIRST_FLEXIBLE;
  const topics = r.array(flexible, (r) => {
    const name = r.string(flexible);
    const partitions = r.array(flexible, (r) => {
      const partitionIndex = r.int32();
      const offset = r.int64();
      r.maybeTaggedFields(flexible);
      return { partitionIndex, offset };
    });
    r.maybeTaggedFields(flexible);
    return { name, partitions };
  });
  const timeoutMs = r.int32();
  r.maybeTaggedFields(flexible);
  return { topics, timeoutMs };
}

export function encodeDeleteRecordsResponse(w: Writer, version: number, res: DeleteRecordsResponse): void {
  const flexible = version >= DELETE_RECORDS_FIRST_FLEXIBLE;
  w.int32(res.throttleTimeMs);
  w.array(res.topics, flexible, (w, t) => {
    w.string(t.name, flexible);
    w.array(t.partitions, flexible, (w, p) => {
      w.int32(p.partitionIndex).int64(p.lowWatermark).int16(p.errorCode).maybeTaggedFields(flexible);
    });
    w.maybeTaggedFields(flexible);
  });
  w.maybeTaggedFields(flexible);
}
