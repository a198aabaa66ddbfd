/**
 * Compaction while a producer writes as fast as it can: a librdkafka producer (acks=all) keeps
 * a compacted topic's partition busy for a few seconds, over a few thousand keys, while the log
 * cleaner runs again and again over the segments that close behind it. No produce may fail, the
 * cleaner must have removed records while the producer ran, and afterwards a consumer must find
 * every key's latest acknowledged record at its offset, and nothing that was not acknowledged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopic, loadCkjs, startBrokerWithCkjs, type CkjsModule } from '../server/ckjs.js';
import type { CompactionReport } from '../../../src/store/types.js';
import { readWithLibrdkafka } from './helpers.js';

const TOPIC = 'hammered';
const KEYS = 3000;
const PRODUCE_MS = 6000;
const CHUNK = 10_000;

let ckjs: CkjsModule;
let started: Awaited<ReturnType<typeof startBrokerWithCkjs>>;

beforeAll(async () => {
  ckjs = loadCkjs();
  started = await startBrokerWithCkjs(ckjs, {});
});

afterAll(() => started?.close());

describe('compaction while producing at full rate', () => {
  it('no produce fails, and every key\'s latest acknowledged record is readable afterwards', async () => {
    const { broker, admin, producer } = started;
    await createTopic(admin, { topic: TOPIC, num_partitions: 1, replication_factor: 1, config: { 'cleanup.policy': 'compact', 'segment.bytes': String(128 * 1024) } });

    let producing = true;
    const reports: CompactionReport[] = [];
    const cleaning = (async () => {
      while (producing) {
        reports.push(await broker.store.runCompaction());
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    // Record n is sensor-(n·7919 mod KEYS) = "reading n"; acked[offset] = n once acknowledged.
    const keyOf = (n: number): string => `sensor-${(n * 7919) % KEYS}`;
    const acked: number[] = [];
    const t0 = Date.now();
    let produced = 0;
    try {
      while (Date.now() - t0 < PRODUCE_MS) {
        const first = produced;
        const messages = Array.from({ length: CHUNK }, (_, i) => ({ key: keyOf(first + i), value: Buffer.from(`reading ${first + i}`), partition: 0 }));
        produced += CHUNK;
        const delivered = await producer.send(TOPIC, messages, 30_000);
        delivered.forEach((d, i) => (acked[d.offset] = first + i));
      }
    } finally {
      producing = false;
      await cleaning;
    }
    const removedWhileProducing = reports.reduce((n, r) => n + r.recordsRemoved, 0);
    expect(reports.some((r) => r.partitionsCompacted > 0)).toBe(true);
    expect(removedWhileProducing).toBeGreaterThan(0);
    expect(acked.filter((n) => n !== undefined).length).toBe(produced);

    const latest = new Map<string, number>();
    acked.forEach((n, offset) => latest.set(keyOf(n), offset));
    expect(latest.size).toBe(KEYS);
    const seen = await readWithLibrdkafka(ckjs)(broker.bootstrap, TOPIC, 0, acked.length - 1);
    // Fewer records than were produced (the cleaner removed some), each one as acknowledged.
    expect(seen.length).toBe(produced - removedWhileProducing);
    const wrong = seen.filter((r) => acked[r.offset] === undefined || r.key !== keyOf(acked[r.offset]!) || r.value !== `reading ${acked[r.offset]}`);
    expect(wrong).toEqual([]);
    const present = new Set(seen.map((r) => r.offset));
    const missing = [...latest].filter(([, offset]) => !present.has(offset));
    expect(missing).toEqual([]);
  }, 40_000);
});
