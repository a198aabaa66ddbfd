/**
 * kafkajs against a real listener on port 0 (with the group coordinator, as `weir start` runs
 * it), the checks kafkajs.test.ts does not make: a consumer reads keyed records with headers and
 * timestamps back from the beginning, in order; offsets by timestamp; snappy, lz4 and zstd
 * batches (kafkajs-codecs.ts) read back by kafkajs and by librdkafka; a 1 MiB record on a topic
 * whose max.message.bytes was raised; an idempotent producer whose Produce responses are lost
 * retries without writing twice.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompressionTypes, Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { partitionForKey } from '../../../src/kafka/protocol/murmur2.js';
import { readBatchHeader } from '../../../src/kafka/protocol/record-batch.js';
import { assignedConsumer, consumeCount, disconnected, loadCkjs } from './ckjs.js';
import { startBrokerWithKafkajs, startTestBrokerBehindProxy, type TestBroker } from './helpers.js';
import { registerKafkajsCodecs } from './kafkajs-codecs.js';

let broker: TestBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let started: Awaited<ReturnType<typeof startBrokerWithKafkajs>> | undefined;

beforeAll(async () => {
  registerKafkajsCodecs();
  started = await startBrokerWithKafkajs({ groups: { initialRebalanceDelayMs: 0 } }, 'weir-roundtrip', 2);
  ({ broker, kafka, admin, producer } = started);
});

afterAll(() => started?.close());

interface Got {
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer;
  timestamp: number;
  headers: [string, string][];
}

/** A kafkajs group consumer from the beginning of `topic`, until `count` messages are in. */
async function consumeAll(topic: string, count: number, opts: { maxBytesPerPartition?: number } = {}): Promise<Got[]> {
  const consumer = kafka.consumer({ groupId: `rt-${topic}`, maxWaitTimeInMs: 100, ...opts });
  const got: Got[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        got.push({
          partition,
          offset: Number(message.offset),
          key: message.key?.toString() ?? null,
          value: message.value ?? Buffer.alloc(0),
          timestamp: Number(message.timestamp),
          headers: Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
        });
        if (got.length >= count) done();
      },
    });
    await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`consumed ${got.length} of ${count} from ${topic}`)), 20_000))]);
    return got;
  } finally {
    await consumer.disconnect();
  }
}

describe('kafkajs round trip', () => {
  it('a consumer from the beginning gets keys, values, headers and timestamps in order, each on its murmur2 partition', async () => {
    await admin.createTopics({ topics: [{ topic: 'rt-keyed', numPartitions: 3 }] });
    const t0 = 1_700_000_000_000;
    const keys = Array.from({ length: 30 }, (_, i) => `sensor-${i}`);
    await producer.send({
      topic: 'rt-keyed', acks: -1,
      messages: keys.map((k, i) => ({ key: k, value: `v${i}`, timestamp: String(t0 + i), headers: { site: 'south', seq: String(i) } })),
    });
    const got = await consumeAll('rt-keyed', keys.length);
    expect(got).toHaveLength(keys.length);
    for (let p = 0; p < 3; p++) {
      const expected = keys.map((k, i) => ({ k, i })).filter(({ k }) => partitionForKey(Buffer.from(k), 3) === p);
      expect(got.filter((g) => g.partition === p).map((g) => [g.offset, g.key, g.value.toString(), g.timestamp, g.headers])).toEqual(
        expected.map(({ k, i }, n) => [n, k, `v${i}`, t0 + i, [['site', 'south'], ['seq', String(i)]]]),
      );
    }
  });

  it('lists offsets by timestamp and at both ends', async () => {
    await producer.send({ topic: 'rt-times', acks: -1, messages: [1000, 2000, 3000].map((ts) => ({ value: String(ts), timestamp: String(ts) })) });
    const at = async (ts: number) => (await admin.fetchTopicOffsetsByTimestamp('rt-times', ts))[0]!.offset;
    expect([await at(500), await at(2000), await at(2500), await at(3000)]).toEqual(['0', '1', '2', '2']);
    // Past the last record: Kafka answers -1 and kafkajs substitutes the high watermark.
    expect(await at(9999)).toBe('3');
    expect(await admin.fetchTopicOffsets('rt-times')).toEqual([expect.objectContaining({ partition: 0, low: '0', high: '3' })]);
  });

  for (const [name, type] of [['snappy', CompressionTypes.Snappy], ['lz4', CompressionTypes.LZ4], ['zstd', CompressionTypes.ZSTD]] as const) {
    it(`${name} batches are stored as sent and read back by kafkajs and by librdkafka`, async () => {
      const topic = `rt-${name}`;
      const values = Array.from({ length: 200 }, (_, i) => `${name}-${i}-${'y'.repeat(i % 40)}`);
      for (let i = 0; i < values.length; i += 50) {
        await producer.send({ topic, acks: -1, compression: type, messages: values.slice(i, i + 50).map((value, j) => ({ key: `k${(i + j) % 3}`, value })) });
      }
      const { batches, records } = broker.stored(topic, 0);
      expect(batches.map((b) => readBatchHeader(b).compression)).toEqual([type, type, type, type]);
      expect(records.map((r) => r.value?.toString())).toEqual(values);
      const viaKafkajs = await consumeAll(topic, values.length);
      expect(viaKafkajs.map((g) => [g.offset, g.key, g.value.toString()])).toEqual(values.map((v, i) => [i, `k${i % 3}`, v]));
      // librdkafka decompresses with the reference libraries (libsnappy, liblz4, libzstd).
      const consumer = await assignedConsumer(loadCkjs(), broker.bootstrap, topic, [0]);
      try {
        const viaLibrdkafka = await consumeCount(consumer, values.length);
        expect(viaLibrdkafka.map((m) => m.value.toString())).toEqual(values);
      } finally {
        await disconnected(consumer);
      }
    });
  }

  it('a 1 MiB record: refused at the default max.message.bytes, accepted once the topic raises it, fetched whole', async () => {
    const big = randomBytes(1024 * 1024);
    await admin.createTopics({ topics: [{ topic: 'rt-small', numPartitions: 1 }] });
    await expect(producer.send({ topic: 'rt-small', acks: -1, messages: [{ value: big }] })).rejects.toThrow(/message larger than the max message size/);
    expect(broker.store.offsets('rt-small', 0).highWatermark).toBe(0);

    await admin.createTopics({ topics: [{ topic: 'rt-big', numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: String(2 * 1024 * 1024) }] }] });
    const [r] = await producer.send({ topic: 'rt-big', acks: -1, messages: [{ key: 'big', value: big }] });
    expect(r!.errorCode).toBe(0);
    await producer.send({ topic: 'rt-big', acks: -1, messages: [{ key: 'after', value: 'small' }] });
    // maxBytesPerPartition (1 MiB) is below the batch: KIP-74 returns it anyway.
    const got = await consumeAll('rt-big', 2, { maxBytesPerPartition: 1024 * 1024 });
    expect(got[0]!.key).toBe('big');
    expect(got[0]!.value.equals(big)).toBe(true);
    expect(got[1]!.value.toString()).toBe('small');
  });
});

describe('kafkajs idempotent producer, Produce responses lost', () => {
  it('retries on a new connection; every record is stored once, in order', async () => {
    const behind = await startTestBrokerBehindProxy();
    const { proxy } = behind;
    const client = new Kafka({ brokers: [behind.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 20 } });
    const p = client.producer({ idempotent: true, maxInFlightRequests: 1 });
    await p.connect();
    try {
      const values: string[] = [];
      for (let wave = 0; wave < 4; wave++) {
        if (wave === 1 || wave === 2) proxy.dropProduceResponses = 1;
        const batch = Array.from({ length: 50 }, (_, i) => `w${wave}-${i}`);
        values.push(...batch);
        const [r] = await p.send({ topic: 'rt-idem', acks: -1, messages: batch.map((value) => ({ value })) });
        // The retry's answer names where the first attempt was written.
        expect(r!.baseOffset).toBe(String(wave * 50));
      }
      expect(proxy.dropped).toBe(2);
      const { records } = behind.broker.stored('rt-idem', 0);
      expect(records.map((r) => r.value?.toString())).toEqual(values);
      expect(records.map((r) => r.offset)).toEqual(values.map((_, i) => i));
    } finally {
      await p.disconnect();
      await behind.close();
    }
  });
});
