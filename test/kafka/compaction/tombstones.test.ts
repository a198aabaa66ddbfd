/**
 * `delete.retention.ms` ends tombstones: a compacted topic with a short delete.retention.ms keeps
 * the tombstones (null values) through the first compaction and through a second one over the
 * whole log while still inside the window, so a consumer that is behind sees each deletion; a compaction
 * after the window has passed (counted from the first one that cleaned their segment, as Kafka
 * counts it) removes them, and with them the last trace of the deleted keys. Read by librdkafka.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCkjs } from '../server/ckjs.js';
import { startBrokerWithKafkajs } from '../server/helpers.js';
import { createCompactedTopic, latestPerKey, produceBatch, readWithLibrdkafka, type PartitionReader, type Seen } from './helpers.js';

const TOPIC = 'device-config';
const DELETE_RETENTION_MS = 1500;

let started: Awaited<ReturnType<typeof startBrokerWithKafkajs>>;
let read: PartitionReader;

beforeAll(async () => {
  started = await startBrokerWithKafkajs({}, 'compaction-tombstones', 2);
  read = readWithLibrdkafka(loadCkjs());
});

afterAll(() => started?.close());

describe('delete.retention.ms', () => {
  it('tombstones outlive the first compaction and a second inside the window, and go with a compaction past it', async () => {
    await createCompactedTopic(started.admin, TOPIC, { 'segment.bytes': '1024', 'delete.retention.ms': String(DELETE_RETENTION_MS) });
    const produced: Seen[] = [];
    const send = async (records: [string, string | null][]) => {
      produced.push(...(await produceBatch(started.producer, TOPIC, records.map(([key, value]) => ({ key, value })))));
    };
    for (let round = 0; round < 6; round++) await send(Array.from({ length: 10 }, (_, k) => [`gw-${k}`, `{"round":${round},"interval":${k}}`]));
    // Devices 0-3 are removed from the gateway; device 4 is removed, then comes back.
    await send([['gw-0', null], ['gw-1', null], ['gw-2', null], ['gw-3', null], ['gw-4', null]]);
    await send([['gw-4', 'back']]);
    // Over segment.bytes: a segment of its own, the active one, which the cleaner leaves alone.
    const tail = (key: string) => send([[key, `last ${'x'.repeat(1100)}`]]);
    let tailBase = produced.length;
    await tail('gw-5');
    expect(latestPerKey(produced, tailBase).filter((r) => r.value === null).map((r) => r.key)).toEqual(['gw-0', 'gw-1', 'gw-2', 'gw-3']);

    const first = await started.broker.store.runCompaction();
    const firstEnded = Date.now();
    expect(first.partitionsCompacted).toBe(1);
    expect(await read(started.broker.bootstrap, TOPIC, 0, produced.length - 1)).toEqual(latestPerKey(produced, tailBase));

    // A new tail closes the last one, so a second pass runs over the whole log (the tombstones'
    // segments included) while they are still inside the window: they stay.
    tailBase = produced.length;
    await tail('gw-6');
    const second = await started.broker.store.runCompaction();
    expect(Date.now() - firstEnded).toBeLessThan(DELETE_RETENTION_MS);
    expect(second.partitionsCompacted).toBe(1);
    const withTombstones = latestPerKey(produced, tailBase);
    expect(withTombstones.filter((r) => r.value === null).map((r) => r.key)).toEqual(['gw-0', 'gw-1', 'gw-2', 'gw-3']);
    expect(await read(started.broker.bootstrap, TOPIC, 0, produced.length - 1)).toEqual(withTombstones);

    // Past the window, counted from the first pass: the next pass removes them, and nothing else.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, firstEnded + DELETE_RETENTION_MS + 100 - Date.now())));
    const afterWindow = await started.broker.store.runCompaction();
    expect(afterWindow).toMatchObject({ partitionsCompacted: 1, recordsRemoved: 4 });
    const withoutTombstones = latestPerKey(produced, tailBase, true);
    expect(withoutTombstones.some((r) => ['gw-0', 'gw-1', 'gw-2', 'gw-3'].includes(r.key!))).toBe(false);
    expect(await read(started.broker.bootstrap, TOPIC, 0, produced.length - 1)).toEqual(withoutTombstones);
  });
});
