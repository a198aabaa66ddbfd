/**
 * The client side of the three requests the mirror's producer sends once connected: Metadata,
 * InitProducerId and Produce. Only non-flexible versions (before KIP-482's compact forms), which
 * every Kafka from 0.11 to 4.x serves: Metadata 4–8 (4 is the first with
 * allow_auto_topic_creation; Kafka 4.0 dropped 0–3, KIP-896), InitProducerId 0–1, Produce 3–8
 * (3 is the first carrying RecordBatch v2, KIP-98). The field layouts are in the server-side
 * codecs under src/kafka/protocol/apis/, which these mirror.
 */
import type { MetadataResponse } from '../../../src/kafka/protocol/apis/metadata.js';
import type { ProducePartitionResponse } from '../../../src/kafka/protocol/apis/produce.js';
import type { Reader } from '../../../src/kafka/protocol/reader.js';
import type { Writer } from '../../../src/kafka/protocol/writer.js';

export const METADATA_VERSIONS = { min: 4, max: 8 } as const;
export const INIT_PRODUCER_ID_VERSIONS = { min: 0, max: 1 } as const;
export const PRODUCE_VERSIONS = { min: 3, max: 8 } as const;

export function writeMetadataRequest(w: Writer, version: number, topics: readonly string[]): void {
  w.array(topics, false, (w, t) => w.string(t));
  w.bool(true); // allow_auto_topic_creation: as a Java or librdkafka producer asks
  if (version >= 8) w.bool(false).bool(false); // no authorized operations wanted
}

export function readMetadataResponse(r: Reader, version: number): MetadataResponse {
  const throttleTimeMs = r.int32();
  const brokers = r.array(false, (r) => ({ nodeId: r.int32(), host: r.string(), port: r.int32(), rack: r.nullableString() }));
  const clusterId = r.nullableString();
  const controllerId = r.int32();
  const topics = r.array(false, (r) => {
    const errorCode = r.int16();
    const name = r.string();
    const isInternal = r.bool();
    const partitions = r.array(false, (r) => {
      const p = { errorCode: r.int16(), partitionIndex: r.int32(), leaderId: r.int32(), leaderEpoch: version >= 7 ? r.int32() : -1 };
      const replicaNodes = r.array(false, (r) => r.int32());
      const isrNodes = r.array(false, (r) => r.int32());
      const offlineReplicas = version >= 5 ? r.array(false, (r) => r.int32()) : [];
      return { ...p, replicaNodes, isrNodes, offlineReplicas };
    });
    if (version >= 8) r.int32(); // topic_authorized_operations
    return { errorCode, name, topicId: Buffer.alloc(0), isInternal, partitions };
  });
  if (version >= 8) r.int32(); // cluster_authorized_operations
  return { throttleTimeMs, brokers, clusterId, controllerId, topics };
}

/** An idempotent producer's id: no transactional id (KIP-98). */
export function writeInitProducerIdRequest(w: Writer): void {
  w.nullableString(null).int32(60_000);
}

export function readInitProducerIdResponse(r: Reader): { errorCode: number; producerId: number; producerEpoch: number } {
  r.int32(); // throttle_time_ms
  return { errorCode: r.int16(), producerId: r.int64(), producerEpoch: r.int16() };
}

export interface ProduceTopicData {
  readonly topic: string;
  readonly partitions: readonly { readonly partition: number; readonly batch: Buffer }[];
}

/** acks=-1 (all in-sync replicas, what "acknowledged" means to the mirror); one batch a partition, as Kafka requires from v3. */
export function writeProduceRequest(w: Writer, timeoutMs: number, topics: readonly ProduceTopicData[]): void {
  w.nullableString(null).int16(-1).int32(timeoutMs);
  w.array(topics, false, (w, t) => {
    w.string(t.topic);
    w.array(t.partitions, false, (w, p) => w.int32(p.partition).bytes(p.batch));
  });
}

export type ProduceOutcome = Pick<ProducePartitionResponse, 'index' | 'errorCode' | 'baseOffset' | 'errorMessage'>;

/** Partition outcomes by topic; the rest of each entry (log append time, log start, record errors) is read past. */
export function readProduceResponse(r: Reader, version: number): Map<string, ProduceOutcome[]> {
  const out = new Map<string, ProduceOutcome[]>();
  for (let t = r.int32(); t > 0; t--) {
    const topic = r.string();
    const partitions: ProduceOutcome[] = [];
    for (let p = r.int32(); p > 0; p--) {
      const index = r.int32();
      const errorCode = r.int16();
      const baseOffset = r.int64();
      if (version >= 2) r.int64();
      if (version >= 5) r.int64();
      let errorMessage: string | null = null;
      if (version >= 8) {
        r.array(false, (r) => [r.int32(), r.nullableString()]);
        errorMessage = r.nullableString();
      }
      partitions.push({ index, errorCode, baseOffset, errorMessage });
    }
    out.set(topic, partitions);
  }
  r.int32(); // throttle_time_ms
  return out;
}
