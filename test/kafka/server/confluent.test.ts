/**
 * @confluentinc/kafka-javascript 1.10.1 (librdkafka 2.15.1, the mirror's client) against a real
 * listener on port 0, through its native API: AdminClient creates topics, Producer (dr_cb,
 * `murmur2_random`, Java's partitioner) produces keyed records with headers and timestamps,
 * KafkaConsumer reads them back from the beginning and lists offsets (ListOffsets: earliest,
 * latest, by timestamp); every compression codec; a 1 MiB record on a topic whose
 * max.message.bytes was raised; an idempotent producer whose Produce responses are lost
 * retries without writing twice. Groups are in confluent-group.test.ts.
 *
 * The client is an optional dependency; if it did not build, this file fails (never skips)
 * and says how to build it (ckjs.ts).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../../src/kafka/protocol/murmur2.js';
import { readBatchHeader } from '../../../src/kafka/protocol/record-batch.js';
import {
  assignedConsumer, consumeCount, createTopic, DrProducer, disconnected, listTopics, loadCkjs, offsetsForTimes,
  startBrokerWithCkjs, watermarks, type Ckjs, type CkjsModule,
} from './ckjs.js';
import { startTestBrokerBehindProxy, type TestBroker } from './helpers.js';

const CODEC_IDS = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

let ckjs: CkjsModule;
let broker: TestBroker;
let admin: Ckjs.IAdminClient;
let producer: DrProducer;
let started: Awaited<ReturnType<typeof startBrokerWithCkjs>> | undefined;

beforeAll(async () => {
  ckjs = loadCkjs();
  expect(ckjs.librdkafkaVersion).toBe('2.15.1');
  // With the group coordinator, as `weir start` runs it: librdkafka turns LZ4 on only when the
  // broker advertises FindCoordinator (its "broker >= 0.8.2" feature probe).
  started = await startBrokerWithCkjs(ckjs, { groups: { initialRebalanceDelayMs: 0 } });
  ({ broker, admin, producer } = started);
});

afterAll(() => started?.close());

describe('@confluentinc/kafka-javascript (librdkafka 2.15)', () => {
  it('AdminClient creates a topic with 4 partitions, and lists it', async () => {
    await createTopic(admin, { topic: 'ck-keyed', num_partitions: 4, replication_factor: 1 });
    expect(await listTopics(admin)).toContain('ck-keyed');
    expect(broker.store.describeTopic('ck-keyed').partitions).toHaveLength(4);
    // Again: TOPIC_ALREADY_EXISTS (36) reaches the client as that error.
    await expect(createTopic(admin, { topic: 'ck-keyed', num_partitions: 4, replication_factor: 1 })).rejects.toMatchObject({ code: 36 });
  });

  it('keyed produce with headers lands each key where Java puts it; a consumer reads all back in order', async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `device-${i}`);
    const t0 = 1_700_000_000_000;
    const delivered = await producer.send('ck-keyed', keys.map((k, i) => ({
      key: k, value: Buffer.from(`v${i}`), timestamp: t0 + i, headers: [{ site: 'north' }, { seq: String(i) }] as Ckjs.MessageHeader[],
    })));
    for (const d of delivered) expect(d.partition, `key ${d.key}`).toBe(partitionForKey(Buffer.from(d.key!), 4));

    const consumer = await assignedConsumer(ckjs, broker.bootstrap, 'ck-keyed', [0, 1, 2, 3]);
    try {
      const got = await consumeCount(consumer, keys.length);
      for (let p = 0; p < 4; p++) {
        const mine = got.filter((m) => m.partition === p);
        const expected = keys.map((k, i) => ({ k, i })).filter(({ k }) => partitionForKey(Buffer.from(k), 4) === p);
        // Per partition: offsets dense from 0, in produce order, with key, value, headers, timestamp.
        expect(mine.map((m) => [m.offset, m.key, m.value.toString(), m.timestamp, m.headers])).toEqual(
          expected.map(({ k, i }, n) => [n, k, `v${i}`, t0 + i, [['site', 'north'], ['seq', String(i)]]]),
        );
      }
    } finally {
      await disconnected(consumer);
    }
  });

  it('lists offsets: watermarks (earliest/latest) and by timestamp', async () => {
    await createTopic(admin, { topic: 'ck-times', num_partitions: 1, replication_factor: 1 });
    await producer.send('ck-times', [1000, 2000, 3000].map((ts) => ({ value: Buffer.from(String(ts)), timestamp: ts, partition: 0 })));
    const consumer = await assignedConsumer(ckjs, broker.bootstrap, 'ck-times', [0]);
    try {
      expect(await watermarks(consumer, 'ck-times', 0)).toEqual({ lowOffset: 0, highOffset: 3 });
      for (const [ts, offset] of [[2000, 1], [2500, 2], [3000, 2], [0, 0]] as const) {
        const [o] = await offsetsForTimes(consumer, [{ topic: 'ck-times', partition: 0, offset: ts }]);
        expect(o!.offset, `first offset at or after ${ts}`).toBe(offset);
      }
      // After the last timestamp: no such record, Kafka answers -1 (librdkafka's OFFSET_END).
      const [none] = await offsetsForTimes(consumer, [{ topic: 'ck-times', partition: 0, offset: 9999 }]);
      expect(none!.offset).toBe(-1);
      // DeleteRecords moves the low watermark; the consumer sees it.
      await broker.store.deleteRecords('ck-times', 0, 1);
      expect(await watermarks(consumer, 'ck-times', 0)).toEqual({ lowOffset: 1, highOffset: 3 });
    } finally {
      await disconnected(consumer);
    }
  });

  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    it(`compression.codec=${codec}: stored as sent, read back intact`, async () => {
      const topic = `ck-${codec}`;
      const p = await new DrProducer(ckjs, { 'bootstrap.servers': broker.bootstrap, 'compression.codec': codec, 'linger.ms': 20 }, { acks: -1 }).connect();
      const values = Array.from({ length: 300 }, (_, i) => `${codec}-${i}-${'x'.repeat(i % 50)}`);
      try {
        const delivered = await p.send(topic, values.map((v, i) => ({ key: `k${i % 5}`, value: Buffer.from(v), partition: 0 })));
        expect(delivered.map((d) => d.offset)).toEqual(values.map((_, i) => i));
      } finally {
        await p.disconnect();
      }
      const { batches, records } = broker.stored(topic, 0);
      // librdkafka sends a batch uncompressed when compressing would not shrink it (a lone
      // record): every batch of several records carries the codec, as sent.
      const multi = batches.map((b) => readBatchHeader(b)).filter((h) => h.lastOffsetDelta > 0);
      expect(multi.length).toBeGreaterThan(0);
      expect(new Set(multi.map((h) => h.compression))).toEqual(new Set([CODEC_IDS[codec]]));
      expect(records.map((r) => r.value?.toString())).toEqual(values);
      const consumer = await assignedConsumer(ckjs, broker.bootstrap, topic, [0]);
      try {
        const got = await consumeCount(consumer, values.length);
        expect(got.map((m) => [m.offset, m.key, m.value.toString()])).toEqual(values.map((v, i) => [i, `k${i % 5}`, v]));
      } finally {
        await disconnected(consumer);
      }
    });
  }

  it('a 1 MiB record: refused at the default max.message.bytes, accepted once the topic raises it, fetched whole', async () => {
    const big = randomBytes(1024 * 1024);
    const p = await new DrProducer(ckjs, { 'bootstrap.servers': broker.bootstrap, 'message.max.bytes': 4 * 1024 * 1024 }, { acks: -1 }).connect();
    try {
      await createTopic(admin, { topic: 'ck-small', num_partitions: 1, replication_factor: 1 });
      // MESSAGE_TOO_LARGE (10) from the broker: the default 1048588 bytes does not fit 1 MiB plus framing.
      await expect(p.send('ck-small', [{ value: big, partition: 0 }])).rejects.toThrow(/too large|MSG_SIZE_TOO_LARGE/i);
      expect(broker.store.offsets('ck-small', 0).highWatermark).toBe(0);

      await createTopic(admin, { topic: 'ck-big', num_partitions: 1, replication_factor: 1, config: { 'max.message.bytes': String(2 * 1024 * 1024) } });
      expect(broker.store.describeTopic('ck-big').config['max.message.bytes']).toBe(2 * 1024 * 1024);
      const [d] = await p.send('ck-big', [{ key: 'big', value: big, partition: 0 }]);
      expect(d!.offset).toBe(0);
      await p.send('ck-big', [{ key: 'after', value: Buffer.from('small'), partition: 0 }]);
    } finally {
      await p.disconnect();
    }
    // Default fetch sizes (max.partition.fetch.bytes 1 MiB) are below the batch: KIP-74 still returns it.
    const consumer = await assignedConsumer(ckjs, broker.bootstrap, 'ck-big', [0]);
    try {
      const got = await consumeCount(consumer, 2);
      expect(got[0]!.key).toBe('big');
      expect(got[0]!.value.equals(big)).toBe(true);
      expect(got[1]!.value.toString()).toBe('small');
    } finally {
      await disconnected(consumer);
    }
  });
});

describe('@confluentinc/kafka-javascript idempotent producer, Produce responses lost', () => {
  it('retries on a new connection; every record is stored once, in order', async () => {
    const behind = await startTestBrokerBehindProxy();
    const { proxy } = behind;
    const p = await new DrProducer(ckjs, {
      'bootstrap.servers': behind.bootstrap, 'enable.idempotence': true, 'linger.ms': 2, 'reconnect.backoff.ms': 20,
    }, { acks: -1 }).connect();
    try {
      const values: string[] = [];
      for (let wave = 0; wave < 4; wave++) {
        // Waves 1 and 2 each lose the response to a Produce the broker has already committed.
        if (wave === 1 || wave === 2) proxy.dropProduceResponses = 1;
        const batch = Array.from({ length: 100 }, (_, i) => `w${wave}-${i}`);
        values.push(...batch);
        const delivered = await p.send('ck-idem', batch.map((v) => ({ value: Buffer.from(v), partition: 0 })));
        expect(delivered.every((d) => d.partition === 0)).toBe(true);
      }
      expect(proxy.dropped).toBe(2);
      const { records } = behind.broker.stored('ck-idem', 0);
      // Once each, in order, offsets dense: the retried batches were recognised as duplicates.
      expect(records.map((r) => r.value?.toString())).toEqual(values);
      expect(records.map((r) => r.offset)).toEqual(values.map((_, i) => i));
    } finally {
      await p.disconnect();
      await behind.close();
    }
  });
});
