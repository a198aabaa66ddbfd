/**
 * Produce (key 0), versions 0–11 decoded and encoded; Weir serves 3–11 (RecordBatch v2 only)
 * and answers 0–2 with UNSUPPORTED_VERSION per partition. Flexible from v9.
 *
 *   Produce Request (Version: 0–2)  => acks:INT16 timeout_ms:INT32 [topic_data]
 *   Produce Request (Version: 3–11) => transactional_id:NULLABLE_STRING acks:INT16 timeout_ms:INT32 [topic_data]
 *     topic_data => name:STRING [partition_data]
 *       partition_data => index:INT32 records:RECORDS (nullable bytes)
 *
 *   Produce Response =>
 *     [responses] => name:STRING [partition_responses]
 *       partition_responses => index:INT32 error_code:INT16 base_offset:INT64
 *                              log_append_time_ms:INT64 (v2+) log_start_offset:INT64 (v5+)
 *                              [record_errors] (v8+) => batch_index:INT32 batch_index_error_message:NULLABLE_STRING
 *                              error_message:NULLABLE_STRING (v8+)
 *                              (v10+ tagged: current_leader, not sent: there is one broker)
 *     throttle_time_ms:INT32 (v1+)
 *     (v10+ tagged: node_endpoints, not sent)
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const PRODUCE_FIRST_FLEXIBLE = 9;

export interface ProducePartitionData {
  index: number;
  /** A view into the request frame: copy before keeping (the store copies). */
  records: Buffer | null;
}

export interface ProduceRequest {
  transactionalId: string | null;
  acks: number;
  timeoutMs: number;
  topics: { name: string; partitions: ProducePartitionData[] }[];
}

export interface ProducePartitionResponse {
  index: number;
  errorCode: number;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  /** KIP-467 (v8+): the records that made the broker refuse the batch; absent means none. */
  recordErrors?: readonly { batchIndex: number; message: string | null }[];
  errorMessage: string | null;
}

export interface ProduceResponse {
  responses: { name: string; partitions: ProducePartitionResponse[] }[];
  throttleTimeMs: number;
}

export function decodeProduceRequest(r: Reader, version: number): ProduceRequest {
  const flexible = version >= PRODUCE_FIRST_FLEXIBLE;
  const transactionalId = version >= 3 ? r.nullableString(flexible) : null;
  const acks = r.int16();
  const timeoutMs = r.int32();
  const topics = r.array(flexible, (r) => {
    const name = r.string(flexible);
    const partitions = r.array(flexible, (r) => {
      const index = r.int32();
      const records = r.nullableBytes(flexible);
      r.maybeTaggedFields(flexible);
      return { index, records };
    });
    r.maybeTaggedFields(flexible);
    return { name, partitions };
  });
  r.maybeTaggedFields(flexible);
  return { transactionalId, acks, timeoutMs, topics };
}

export function encodeProduceResponse(w: Writer, version: number, res: ProduceResponse): void {
  const flexible = version >= PRODUCE_FIRST_FLEXIBLE;
  w.array(res.responses, flexible, (w, t) => {
    w.string(t.name, flexible);
    w.array(t.partitions, flexible, (w, p) => {
      w.int32(p.index).int16(p.errorCode).int64(p.baseOffset);
      if (version >= 2) w.int64(p.logAppendTimeMs);
      if (version >= 5) w.int64(p.logStartOffset);
      if (version >= 8) {
        w.array(p.recordErrors ?? [], flexible, (w, e) => {
          w.int32(e.batchIndex).nullableString(e.message, flexible);
          w.maybeTaggedFields(flexible);
        });
        w.nullableString(p.errorMessage, flexible);
      }
      w.maybeTaggedFields(flexible);
    });
    w.maybeTaggedFields(flexible);
  });
  if (version >= 1) w.int32(res.throttleTimeMs);
  w.maybeTaggedFields(flexible);
}
