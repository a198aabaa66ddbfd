/**
 * Metadata (key 3), versions 0–12. Flexible from v9.
 *
 *   Metadata Request (Version: 0)    => [topics]  topics => name:STRING  (empty = all topics)
 *   Metadata Request (Version: 1–3)  => [topics]  (nullable: null = all, empty = none)
 *   Metadata Request (Version: 4–7)  => [topics] allow_auto_topic_creation:BOOLEAN
 *   Metadata Request (Version: 8–9)  => [topics] allow_auto_topic_creation
 *                                       include_cluster_authorized_operations:BOOLEAN
 *                                       include_topic_authorized_operations:BOOLEAN
 *   Metadata Request (Version: 10)   => [topics] ... (as 8–9)  topics => topic_id:UUID name:COMPACT_NULLABLE_STRING
 *   Metadata Request (Version: 11–12) => [topics] allow_auto_topic_creation include_topic_authorized_operations
 *
 *   Metadata Response =>
 *     throttle_time_ms:INT32                         (v3+)
 *     [brokers] => node_id:INT32 host:STRING port:INT32 rack:NULLABLE_STRING (rack v1+)
 *     cluster_id:NULLABLE_STRING                     (v2+)
 *     controller_id:INT32                            (v1+)
 *     [topics] => error_code:INT16 name:STRING (NULLABLE v12+) topic_id:UUID (v10+)
 *                 is_internal:BOOLEAN (v1+)
 *                 [partitions] => error_code:INT16 partition_index:INT32 leader_id:INT32
 *                                 leader_epoch:INT32 (v7+) [replica_nodes:INT32] [isr_nodes:INT32]
 *                                 [offline_replicas:INT32] (v5+)
 *                 topic_authorized_operations:INT32 (v8+)
 *     cluster_authorized_operations:INT32            (v8–10)
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const METADATA_FIRST_FLEXIBLE = 9;
/** Kafka's "authorized operations not requested" sentinel (Integer.MIN_VALUE). */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export interface MetadataRequest {
  /** null = every topic. */
  topics: string[] | null;
  allowAutoTopicCreation: boolean;
}

export interface MetadataBroker {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface MetadataPartition {
  errorCode: number;
  partitionIndex: number;
  leaderId: number;
  leaderEpoch: number;
  replicaNodes: number[];
  isrNodes: number[];
  offlineReplicas: number[];
}

export interface MetadataTopic {
  errorCode: number;
  name: string;
  topicId: Buffer;
  isInternal: boolean;
  partitions: MetadataPartition[];
}

export interface MetadataResponse {
  throttleTimeMs: number;
  brokers: MetadataBroker[];
  clusterId: string | null;
  controllerId: number;
  topics: MetadataTopic[];
}

export function decodeMetadataRequest(r: Reader, version: number): MetadataRequest {
  const flexible = version >= METADATA_FIRST_FLEXIBLE;
  let topics = r.nullableArray(flexible, (r) => {
    if (version >= 10) r.uuid();
    const name = version >= 10 ? r.nullableString(flexible) : r.string(flexible);
    r.maybeTaggedFields(flexible);
    return name;
  });
  // v0 has no null array: an empty list means every topic.
  if (version === 0 && topics !== null && topics.length === 0) topics = null;
  let allowAutoTopicCreation = true;
  if (version >= 4) allowAutoTopicCreation = r.bool();
  if (version >= 8 && version <= 10) r.bool(); // include_cluster_authorized_operations
  if (version >= 8) r.bool(); // include_topic_authorized_operations
  r.maybeTaggedFields(flexible);
  // A v10+ entry by topic id only (null name) cannot be served: Weir has no topic ids yet.
  return { topics: topics === null ? null : topics.filter((t): t is string => t !== null), allowAutoTopicCreation };
}

export function encodeMetadataResponse(w: Writer, version: number, res: MetadataResponse): void {
  const flexible = version >= METADATA_FIRST_FLEXIBLE;
  if (version >= 3) w.int32(res.throttleTimeMs);
  w.array(res.brokers, flexible, (w, b) => {
    w.int32(b.nodeId).string(b.host, flexible).int32(b.port);
    if (version >= 1) w.nullableString(b.rack, flexible);
    w.maybeTaggedFields(flexible);
  });
  if (version >= 2) w.nullableString(res.clusterId, flexible);
  if (version >= 1) w.int32(res.controllerId);
  w.array(res.topics, flexible, (w, t) => {
    w.int16(t.errorCode).string(t.name, flexible);
    if (version >= 10) w.uuid(t.topicId);
    if (version >= 1) w.bool(t.isInternal);
    w.array(t.partitions, flexible, (w, p) => {
      w.int16(p.errorCode).int32(p.partitionIndex).int32(p.leaderId);
      if (version >= 7) w.int32(p.leaderEpoch);
      w.array(p.replicaNodes, flexible, (w, n) => w.int32(n));
      w.array(p.isrNodes, flexible, (w, n) => w.int32(n));
      if (version >= 5) w.array(p.offlineReplicas, flexible, (w, n) => w.int32(n));
      w.maybeTaggedFields(flexible);
    });
    if (version >= 8) w.int32(AUTHORIZED_OPERATIONS_OMITTED);
    w.maybeTaggedFields(flexible);
  });
  if (version >= 8 && version <= 10) w.int32(AUTHORIZED_OPERATIONS_OMITTED);
  w.maybeTaggedFields(flexible);
}
