/**
 * kafkajs against a real listener on port 0: admin, keyed produce with headers (partition =
 * Java's murmur2), gzip, idempotent producer. Data read back with the store (and, in
 * kcat.test.ts, over Fetch with kcat).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, CompressionTypes, ConfigResourceTypes, type Admin } from 'kafkajs';
import { partitionForKey } from '../../../src/kafka/protocol/murmur2.js';
import { startTestBroker, type TestBroker } from './helpers.js';

let broker: TestBroker;
let kafka: Kafka;
let admin: Admin;

beforeAll(async () => {
  broker = await startTestBroker();
  kafka = new Kafka({ clientId: 'weir-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.close();
});

describe('kafkajs', () => {
  it('admin creates topics, lists them, fetches metadata and offsets', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'admin-t', numPartitions: 3 }] })).toBe(true);
    expect(await admin.listTopics()).toContain('admin-t');
    const md = await admin.fetchTopicMetadata({ topics: ['admin-t'] });
    expect(md.topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
    const offsets = await admin.fetchTopicOffsets('admin-t');
    expect(offsets.map((o) => [o.partition, o.offset, o.low])).toEqual(expect.arrayContaining([[0, '0', '0'], [1, '0', '0'], [2, '0', '0']]));
    // Creating it again: TOPIC_ALREADY_EXISTS, which kafkajs reports as false.
    expect(await admin.createTopics({ topics: [{ topic: 'admin-t', numPartitions: 3 }] })).toBe(false);
    await admin.deleteTopics({ topics: ['admin-t'] });
    expect(await admin.listTopics()).not.toContain('admin-t');
  });

  it('keyed producer with headers, acks -1: each key on the partition Java picks', async () => {
    await admin.createTopics({ topics: [{ topic: 'keyed', numPartitions: 4 }] });
    const producer = kafka.producer();
    await producer.connect();
    const keys = Array.from({ length: 40 }, (_, i) => `device-${i}`);
    const res = await producer.send({
      topic: 'keyed',
      acks: -1,
      messages: keys.map((k, i) => ({ key: k, value: `v${i}`, headers: { site: 'north', seq: String(i) }, timestamp: String(1_700_000_000_000 + i) })),
    });
    await producer.disconnect();
    expect(res.every((r) => r.errorCode === 0)).toBe(true);
    for (const k of keys) {
      const p = partitionForKey(Buffer.from(k), 4);
      const rec = broker.stored('keyed', p).records.find((r) => r.key?.toString() === k);
      expect(rec, `key ${k} on partition ${p}`).toBeDefined();
      expect(rec!.headers.map((h) => [h.key, h.value?.toString()])).toEqual([['site', 'north'], ['seq', String(keys.indexOf(k))]]);
      expect(rec!.timestamp).toBe(1_700_000_000_000 + keys.indexOf(k));
    }
    const offsets = await admin.fetchTopicOffsets('keyed');
    expect(offsets.reduce((n, o) => n + Number(o.high), 0)).toBe(40);
  });

  it('gzip-compressed batches are stored as sent and decode', async () => {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'gz', compression: CompressionTypes.GZIP, messages: Array.from({ length: 100 }, (_, i) => ({ value: `gzip-${i}` })) });
    await producer.disconnect();
    const recs = broker.stored('gz', 0).records;
    expect(recs.map((r) => r.value?.toString())).toEqual(Array.from({ length: 100 }, (_, i) => `gzip-${i}`));
    expect(recs.map((r) => r.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('idempotent producer: InitProducerId, sequences accepted, offsets dense', async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < 5; i++) {
      const [r] = await producer.send({ topic: 'idem', acks: -1, messages: [{ value: `a${i}` }, { value: `b${i}` }] });
      expect(r!.baseOffset).toBe(String(i * 2));
    }
    await producer.disconnect();
    const recs = broker.stored('idem', 0).records;
    expect(recs.map((r) => r.value?.toString())).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2', 'a3', 'b3', 'a4', 'b4']);
  });
  it('admin grows partitions, describes topic configs and deletes records', async () => {
    await admin.createTopics({ topics: [{ topic: 'adm2', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
    await admin.createPartitions({ topicPartitions: [{ topic: 'adm2', count: 3 }] });
    expect((await admin.fetchTopicMetadata({ topics: ['adm2'] })).topics[0]!.partitions).toHaveLength(3);
    await expect(admin.createPartitions({ topicPartitions: [{ topic: 'adm2', count: 2 }] })).rejects.toThrow();

    const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'adm2' }] });
    const entries = described.resources[0]!.configEntries;
    expect(entries.find((e) => e.configName === 'retention.ms')).toMatchObject({ configValue: '3600000', isDefault: false });
    expect(entries.find((e) => e.configName === 'max.message.bytes')).toMatchObject({ isDefault: true });

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'adm2', messages: Array.from({ length: 10 }, (_, i) => ({ value: String(i), partition: 0 })) });
    await producer.disconnect();
    // kafkajs looks the leader up in its cached metadata before fetching any: warm it first.
    await admin.fetchTopicOffsets('adm2');
    await admin.deleteTopicRecords({ topic: 'adm2', partitions: [{ partition: 0, offset: '4' }] });
    const offsets = await admin.fetchTopicOffsets('adm2');
    expect(offsets.find((o) => o.partition === 0)).toMatchObject({ low: '4', high: '10' });
  });
});
