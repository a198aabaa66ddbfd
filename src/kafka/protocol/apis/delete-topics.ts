/**
 * DeleteTopics (key 20), versions 0–6. Flexible from v4.
 *
 *   DeleteTopics Request (Version: 0–5) => [topic_names:STRING] timeout_ms:INT32
 *   DeleteTopics Request (Version: 6)   => [topics] timeout_ms:INT32
 *     topics => name:COMPACT_NULLABLE_STRING topic_id:UUID
 *
 *   DeleteTopics Response =>
 *     throttle_time_ms:INT32 (v1+)
 *     [responses] => name:STRING (NULLABLE v6+) topic_id:UUID (v6+) error_code:INT16
 *                    error_message:NULLABLE_STRING (v5+)
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const DELETE_TOPICS_FIRST_FLEXIBLE = 4;

export interface DeleteTopicsRequest {
  /** null entries: a v6 topic given only by id, which Weir cannot resolve. */
  names: (string | null)[];
  timeoutMs: number;
}

export interface DeleteTopicResult {
  name: string | null;
  topicId: Buffer;
  errorCode: number;
  errorMessage: string | null;
}

export interface DeleteTopicsResponse {
  throttleTimeMs: number;
  responses: DeleteTopicResult[];
}

export function decodeDeleteTopicsRequest(r: Reader, version: number): DeleteTopicsRequest {
  const flexible = version >= DELETE_TOPICS_FIRST_FLEXIBLE;
  const names = version >= 6
    ? r.array(flexible, (r) => {
      const name = r.nullableString(flexible);
      r.uuid();
      r.maybeTaggedFields(flexible);
      return name;
    })
    : r.array<string | null>(flexible, (r) => r.string(flexible));
  const timeoutMs = r.int32();
  r.maybeTaggedFields(flexible);
  return { names, timeoutMs };
}

export function encodeDeleteTopicsResponse(w: Writer, version: number, res: DeleteTopicsResponse): void {
  const flexible = version >= DELETE_TOPICS_FIRST_FLEXIBLE;
  if (version >= 1) w.int32(res.throttleTimeMs);
  w.array(res.responses, flexible, (w, t) => {
    if (version >= 6) w.nullableString(t.name, flexible).uuid(t.topicId);
    else w.string(t.name ?? '', flexible);
    w.int16(t.errorCode);
    if (version >= 5) w.nullableString(t.errorMessage, flexible);
    w.maybeTaggedFields(flexible);
  });
  w.maybeTaggedFields(flexible);
}
