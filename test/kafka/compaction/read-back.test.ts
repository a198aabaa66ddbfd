/**
 * A compacted topic read back by three independent consumers (kcat, kafka-python, librdkafka)
 * after the log cleaner has run: kafkajs feeds it many values per key, some keys ending with a
 * tombstone (a null value), some deleted and written again, in plain and gzip batches, over
 * segments small enough (`segment.bytes`) to close as it goes. Each reader must then see exactly
 * the latest record of every key in the closed segments, tombstones included (they stay
 * `delete.retention.ms`, a day by default, after their segment is cleaned), and every record of
 * the active segment, which is never compacted; in offset order, at the offsets they were given.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCkjs } from '../server/ckjs.js';
import { startBrokerWithKafkajs } from '../server/helpers.js';
import { createCompactedTopic, latestPerKey, produceBatch, readWithKafkaPython, readWithKcat, readWithLibrdkafka, type KeyedValue, type PartitionReader, type Seen } from './helpers.js';

const TOPIC = 'device-state';
const KEYS = 30;
const BATCHES = 24;
const PER_BATCH = 25;
/** A few batches a segment: the cleaner sees many closed segments. */
const SEGMENT_BYTES = 2048;

let started: Awaited<ReturnType<typeof startBrokerWithKafkajs>>;
let produced: Seen[] = [];
let tailBase = 0;

const key = (k: number): string => `device-${String(k).padStart(2, '0')}`;

/** Batch `b` of the history: pseudo-random keys, one record in 9 a tombstone. */
function historyBatch(b: number): KeyedValue[] {
  return Array.from({ length: PER_BATCH }, (_, i) => {
    const seq = b * PER_BATCH + i;
    const k = (seq * 7 + b * 3) % KEYS;
    return { key: key(k), value: seq % 9 === 4 ? null : `{"device":"${key(k)}","seq":${seq}}` };
  });
}

beforeAll(async () => {
  started = await startBrokerWithKafkajs({}, 'compaction-read-back', 2);
  await createCompactedTopic(started.admin, TOPIC, { 'segment.bytes': String(SEGMENT_BYTES) });
  for (let b = 0; b < BATCHES; b++) produced.push(...(await produceBatch(started.producer, TOPIC, historyBatch(b), b % 2 === 1)));
  // Deleted for good: devices 0-5 end with a tombstone. Deleted, then written again: 6-8.
  produced.push(...(await produceBatch(started.producer, TOPIC, [0, 1, 2, 3, 4, 5, 6, 7, 8].map((k) => ({ key: key(k), value: null })))));
  produced.push(...(await produceBatch(started.producer, TOPIC, [6, 7, 8].map((k) => ({ key: key(k), value: `back-${k}` })))));
  // The tail: one batch over segment.bytes, so it rolls a segment of its own, the active one.
  // It repeats a key and deletes another: all of it stays.
  const tail: KeyedValue[] = [
    ...Array.from({ length: 20 }, (_, i) => ({ key: key(10 + (i % 4)), value: `tail-${i}-${'x'.repeat(120)}` })),
    { key: key(11), value: null },
    { key: 'device-new', value: 'only in the active segment' },
  ];
  tailBase = produced.length;
  produced.push(...(await produceBatch(started.producer, TOPIC, tail)));
  expect(produced.map((r) => r.offset)).toEqual(produced.map((_, i) => i));

  const report = await started.broker.store.runCompaction();
  expect(report.partitionsCompacted).toBe(1);
  expect(report.recordsRemoved).toBe(produced.length - latestPerKey(produced, tailBase).length);
}, 60_000);

afterAll(() => started?.close());

describe('a compacted topic read back by Kafka consumers', () => {
  it('holds, per the log, fewer records than were produced, at unchanged watermarks', async () => {
    const expected = latestPerKey(produced, tailBase);
    // Meaningful only if compaction has much to remove and tombstones are among what stays.
    expect(expected.length).toBeLessThan(produced.length / 4);
    expect(expected.filter((r) => r.offset < tailBase && r.value === null).map((r) => r.key)).toEqual(expect.arrayContaining([0, 1, 2, 3, 4, 5].map(key)));
    const [offsets] = await started.admin.fetchTopicOffsets(TOPIC);
    expect([offsets!.low, offsets!.high]).toEqual(['0', String(produced.length)]);
  });

  const readers: [string, () => PartitionReader][] = [
    ['kcat', () => readWithKcat],
    ['kafka-python', () => readWithKafkaPython],
    ['librdkafka (@confluentinc/kafka-javascript)', () => readWithLibrdkafka(loadCkjs())],
  ];
  it.each(readers)('%s reads the latest record of each key, tombstones, and the whole active segment, at their offsets', async (_name, reader) => {
    const seen = await reader()(started.broker.bootstrap, TOPIC, 0, produced.length - 1);
    expect(seen).toEqual(latestPerKey(produced, tailBase));
  });
});
