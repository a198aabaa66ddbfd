/**
 * CreateTopics (key 19), versions 0–7. Flexible from v5.
 *
 *   CreateTopics Request =>
 *     [topics] => name:STRING num_partitions:INT32 replication_factor:INT16
 *                 [assignments] => partition_index:INT32 [broker_ids:INT32]
 *                 [configs] => name:STRING value:NULLABLE_STRING
 *     timeout_ms:INT32 validate_only:BOOLEAN (v1+)
 *   num_partitions / replication_factor -1 = broker default (KIP-464, v4+).
 *
 *   CreateTopics Response =>
 *     throttle_time_ms:INT32 (v2+)
 *     [topics] => name:STRING topic_id:UUID (v7+) error_code:INT16 error_message:NULLABLE_STRING (v1+)
 *                 topic_config_error_code:INT16 (v5+, tagged 0: not sent)
 *                 num_partitions:INT32 (v5+) replication_factor:INT16 (v5+)
 *                 [configs] (v5+, nullable) => name:STRING value:NULLABLE_STRING read_only:BOOLEAN
 *                                               config_source:INT8 is_sensitive:BOOLEAN
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const CREATE_TOPICS_FIRST_FLEXIBLE = 5;

export interface CreatableTopic {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  /** Manual assignments: only their count matters on a single node. */
  assignments: number;
  configs: Record<string, string>;
}

export interface CreateTopicsRequest {
  topics: CreatableTopic[];
  timeoutMs: number;
  validateOnly: boolean;
}

export interface CreateTopicConfigResult {
  name: string;
  value: string | null;
  readOnly: boolean;
  /** Kafka's ConfigSource: 1 DYNAMIC_TOPIC_CONFIG, 5 DEFAULT_CONFIG. */
  configSource: number;
  isSensitive: boolean;
}

export interface CreateTopicResult {
  name: string;
  topicId: Buffer;
  errorCode: number;
  errorMessage: string | null;
  numPartitions: number;
  replicationFactor: number;
  configs: CreateTopicConfigResult[] | null;
}

export interface CreateTopicsResponse {
  throttleTimeMs: number;
  topics: CreateTopicResult[];
}

export function decodeCreateTopicsRequest(r: Reader, version: number): CreateTopicsRequest {
  const flexible = version >= CREATE_TOPICS_FIRST_FLEXIBLE;
  const topics = r.array(flexible, (r) => {
    const name = r.string(flexible);
    const numPartitions = r.int32();
    const replicationFactor = r.int16();
    const assignments = r.array(flexible, (r) => {
      r.int32();
      r.array(flexible, (r) => r.int32());
      r.maybeTaggedFields(flexible);
    }).length;
    const configs: Record<string, string> = {};
    r.array(flexible, (r) => {
      const key = r.string(flexible);
      const value = r.nullableString(flexible);
      r.maybeTaggedFields(flexible);
      if (value !== null) configs[key] = value;
    });
    r.maybeTaggedFields(flexible);
    return { name, numPartitions, replicationFactor, assignments, configs };
  });
  const timeoutMs = r.int32();
  const validateOnly = version >= 1 ? r.bool() : false;
  r.maybeTaggedFields(flexible);
  return { topics, timeoutMs, validateOnly };
}

export function encodeCreateTopicsResponse(w: Writer, version: number, res: CreateTopicsResponse): void {
  const flexible = version >= CREATE_TOPICS_FIRST_FLEXIBLE;
  if (version >= 2) w.int32(res.throttleTimeMs);
  w.array(res.topics, flexible, (w, t) => {
    w.string(t.name, flexible);
    if (version >= 7) w.uuid(t.topicId);
    w.int16(t.errorCode);
    if (version >= 1) w.nullableString(t.errorMessage, flexible);
    if (version >= 5) {
      w.int32(t.numPartitions).int16(t.replicationFactor);
      w.nullableArray(t.configs, flexible, (w, c) => {
        w.string(c.name, flexible).nullableString(c.value, flexible).bool(c.readOnly).int8(c.configSource).bool(c.isSensitive);
        w.maybeTaggedFields(flexible);
      });
    }
    w.maybeTaggedFields(flexible);
  });
  w.maybeTaggedFields(flexible);
}
