/**
 * The dead-letter topic of `on_refused: skip`: a record the upstream refused for good is kept on
 * the edge, in a local topic created on first use, with its origin and why it was refused.
 */
import { decodeRecordBatch } from '../../src/kafka/protocol/record-batch.js';
import { DefaultPartitioner } from '../../src/produce/partitioner.js';
import { TopicAutoCreator } from '../../src/store/auto-create.js';
import type { RecordLog, TopicAdmin } from '../../src/store/types.js';
import type { MirrorRuleSpec } from './config.js';
import type { DeliveryDeps } from './deliveries.js';
import type { PartitionMirror } from './partition.js';
import { ORIGIN_HEADERS } from './pumps.js';

/** Writes a refused record to its rule's dead-letter topic; resolves once durable. */
export function deadLetterWriter(store: RecordLog & TopicAdmin, deviceId: string): DeliveryDeps['deadLetter'] {
  const topics = new TopicAutoCreator(store, { partitions: 1 });
  const partitioner = new DefaultPartitioner(store);
  return async function deadLetter(rule: MirrorRuleSpec, pm: PartitionMirror, offset: number, reason: string): Promise<void> {
    const topic = rule.deadLetterTopic;
    await topics.ensure(topic);
    const read = store.read(pm.topic, pm.partition, offset, 1);
    for (const batch of read.batches) {
      const record = decodeRecordBatch(batch).records.find((r) => r.offset === offset);
      if (record === undefined) continue;
      const headers = [
        ...record.headers,
        { key: ORIGIN_HEADERS.device, value: Buffer.from(deviceId) },
        { key: ORIGIN_HEADERS.topic, value: Buffer.from(pm.topic) },
        { key: ORIGIN_HEADERS.partition, value: Buffer.from(String(pm.partition)) },
        { key: ORIGIN_HEADERS.offset, value: Buffer.from(String(offset)) },
        { key: 'weir.mirror.rule', value: Buffer.from(rule.name) },
        { key: 'weir.mirror.error', value: Buffer.from(reason) },
      ];
      await store.appendRecords(topic, partitioner.partitionFor(topic, record.key), [{ key: record.key, value: record.value, timestamp: record.timestamp, headers }]);
      return;
    }
    // Retention took it meanwhile (drop-oldest): nothing left to keep.
  };
}
