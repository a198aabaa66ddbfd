/**
 * The log cleaner on a real LMDB store: what a compacted partition holds after one pass, several
 * passes, an interrupted pass, a reopen; tombstones, the lag settings, producers' last batches.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeRecordBatch, readBatchHeader, type RecordInput } from '../../../src/kafka/protocol/record-batch.js';
import { openLmdbEnv } from '../../../src/store/lmdb-env.js';
import type { LogStore, StoreOptions } from '../../../src/store/index.js';
import { failNextFlush } from '../../helpers/fail-flush.js';
import { openTestStore, tempDir } from '../../helpers/store.js';
import { recordsOf } from '../contract.js';

const HOUR = 3_600_000;

/** [key, value]; a null value is a tombstone. */
type Entry = [string, string | null];

/** Values of `keys` keys, `rounds` times over, every seventh a tombstone. */
function workload(keys: number, rounds: number): Entry[] {
  const out: Entry[] = [];
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < keys; k++) out.push([`key-${(k * 7 + r) % keys}`, (r * keys + k) % 7 === 3 ? null : `value-${r}-${k}`]);
  }
  return out;
}

/**
 * What a compacted log holds: the latest record of each key among `entries` (written from offset
 * 0), tombstones included unless `withTombstones` is false, in offset order.
 */
function latestPerKey(entries: Entry[], withTombstones = true): { offset: number; key: string; value: string | null }[] {
  const latest = new Map<string, number>();
  entries.forEach(([key], offset) => latest.set(key, offset));
  return entries
    .map(([key, value], offset) => ({ offset, key, value }))
    .filter((r) => latest.get(r.key) === r.offset && (withTombstones || r.value !== null));
}

describe('log compaction: the cleaner', () => {
  let dir: string;
  let cleanup: () => void;
  let store: LogStore;

  async function open(overrides: Partial<StoreOptions> = {}) {
    store = await openTestStore(dir, overrides);
    return store;
  }

  async function reopen(overrides: Partial<StoreOptions> = {}) {
    await store.close();
    return open(overrides);
  }

  /**
   * A compacted topic whose every batch is a segment of its own (segment.bytes below a batch), so
   * every batch but the last is closed, hence compactable.
   */
  async function createCompacted(configs: Record<string, string> = {}) {
    await store.createTopic('t', { configs: { 'cleanup.policy': 'compact', 'segment.bytes': '100', 'delete.retention.ms': String(HOUR), ...configs } });
  }

  /** Appends `entries` in batches of `perBatch` records, then one sentinel record: the active segment. */
  async function produce(entries: Entry[], perBatch = 5, timestamp?: number) {
    for (let i = 0; i < entries.length; i += perBatch) {
      const records: RecordInput[] = entries.slice(i, i + perBatch).map(([key, value]) => ({ key: Buffer.from(key), value: value === null ? null : Buffer.from(value), timestamp }));
      await store.appendRecords('t', 0, records);
    }
  }

  /** A record larger than segment.bytes: it rolls a segment of its own, the active one. */
  async function seal() {
    await store.appendRecords('t', 0, [{ key: Buffer.from('sentinel'), value: Buffer.alloc(1000, 'a') }]);
  }

  /** The records the partition holds below the sentinel. */
  function compacted(): { offset: number; key: string | null; value: string | null }[] {
    return recordsOf(store, 't', 0, store.offsets('t', 0).logStartOffset)
      .filter((r) => r.key !== 'sentinel')
      .map(({ offset, key, value }) => ({ offset, key, value }));
  }

  /** Sum of the stored batches' sizes, read back from the log. */
  function recount(): number {
    const { batches } = store.read('t', 0, store.offsets('t', 0).logStartOffset, 1 << 30);
    return batches.reduce((sum, b) => sum + b.length, 0);
  }

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
  });

  afterEach(async () => {
    await store.close();
    cleanup();
  });

  it('keeps exactly the latest record of each key in offset order, offsets unchanged, and says so in describe', async () => {
    await open();
    await createCompacted();
    const entries = workload(20, 15);
    await produce(entries);
    await seal();
    const before = store.describeTopic('t').partitions[0]!;
    expect(before.compaction).toMatchObject({ dirtyRatio: 1, lastCompactedAt: null, bytesReclaimed: 0, behind: false });

    const now = Date.now();
    const report = await store.runCompaction(now);
    expect(report.partitionsCompacted).toBe(1);
    expect(report.recordsRemoved).toBe(entries.length - 20);
    expect(compacted()).toEqual(latestPerKey(entries));
    expect(recordsOf(store, 't', 0).at(-1)).toMatchObject({ offset: entries.length, key: 'sentinel' });

    const after = store.describeTopic('t').partitions[0]!;
    expect(after.compaction).toEqual({ dirtyRatio: 0, lastCompactedAt: now, bytesReclaimed: report.bytesReclaimed, behind: false });
    // Each batch of 5 was a segment; a segment left empty is folded into the one before it (the
    // first has none before it), so what stays is a segment per batch still holding a record.
    const batchesLeft = new Set(latestPerKey(entries).map((r) => Math.floor(r.offset / 5)));
    expect(before.segments).toBe(entries.length / 5 + 1);
    expect(after.segments).toBe(batchesLeft.size + (batchesLeft.has(0) ? 0 : 1) + 1);
    expect(after.highWatermark).toBe(before.highWatermark);
    expect(before.sizeBytes - after.sizeBytes).toBe(report.bytesReclaimed);
    // Nothing is due any more: a second run does nothing.
    expect(await store.runCompaction(now)).toEqual({ partitionsCompacted: 0, recordsRemoved: 0, bytesReclaimed: 0 });
  });

  it('gives topics whose policy does not compact no compaction status, and leaves them alone', async () => {
    await open();
    await store.createTopic('t', { configs: { 'segment.bytes': '100' } });
    const entries = workload(5, 4);
    await produce(entries);
    await seal();
    expect(store.describeTopic('t').partitions[0]!.compaction).toBeUndefined();
    expect((await store.runCompaction()).partitionsCompacted).toBe(0);
    expect(compacted()).toHaveLength(entries.length);
  });

  it('removes the records without a key a topic held before it was made compacted, as Kafka does', async () => {
    await open();
    await store.createTopic('t', { configs: { 'segment.bytes': '100' } });
    await store.appendRecords('t', 0, [{ key: null, value: Buffer.from('keyless') }]);
    await store.appendRecords('t', 0, [{ key: Buffer.from('k'), value: Buffer.from('keyed') }]);
    await store.alterTopicConfigs('t', { 'cleanup.policy': 'compact' });
    await seal();
    expect((await store.runCompaction()).recordsRemoved).toBe(1);
    expect(compacted()).toEqual([{ offset: 1, key: 'k', value: 'keyed' }]);
  });

  it('in several passes with a buffer too small for every key, ends with what one pass leaves', async () => {
    const entries = workload(30, 6);
    await open();
    await createCompacted();
    await produce(entries, 7);
    await seal();
    await store.runCompaction();
    const onePass = compacted();
    expect(onePass).toEqual(latestPerKey(entries));
    await store.close();
    cleanup();

    ({ dir, cleanup } = tempDir());
    // 10 slots: 9 keys a pass at the map's 0.9 load factor.
    await open({ compactionBufferBytes: 10 * 24 });
    await createCompacted({ 'min.cleanable.dirty.ratio': '0' });
    await produce(entries, 7);
    await seal();
    let passes = 0;
    while ((await store.runCompaction()).partitionsCompacted > 0) {
      passes++;
      if (passes === 1) expect(store.describeTopic('t').partitions[0]!.compaction?.behind).toBe(true);
      expect(passes).toBeLessThan(30);
    }
    expect(passes).toBeGreaterThanOrEqual(4);
    expect(compacted()).toEqual(onePass);
    expect(store.describeTopic('t').partitions[0]!.compaction).toMatchObject({ dirtyRatio: 0, behind: false });
  });

  it('is not behind once what a partial pass left is below min.cleanable.dirty.ratio (it waits for more dirt, as in Kafka)', async () => {
    const entries: Entry[] = Array.from({ length: 400 }, (_, i) => [`k${i % 40}`, `v${i}`]);
    await open({ compactionBufferBytes: 10 * 24 });
    await createCompacted({ 'min.cleanable.dirty.ratio': '0.5', 'segment.bytes': '512' });
    await produce(entries, 7);
    await seal();
    let passes = 0;
    while ((await store.runCompaction()).partitionsCompacted > 0) expect(++passes).toBeLessThan(100);
    const status = store.describeTopic('t').partitions[0]!.compaction!;
    expect(passes).toBeGreaterThanOrEqual(1);
    expect(status.dirtyRatio).toBeGreaterThan(0);
    expect(status.dirtyRatio).toBeLessThan(0.5);
    expect(status.behind).toBe(false);
  });

  it('leaves the active segment and segments younger than min.compaction.lag.ms uncompacted', async () => {
    await open();
    await createCompacted({ 'min.compaction.lag.ms': String(HOUR) });
    const now = Date.now();
    const old = workload(5, 4);
    const young = workload(5, 4);
    await produce(old, 5, now - 2 * HOUR);
    await produce(young, 5, now - HOUR / 2);
    // The active segment: several values of one key, never compacted.
    await store.appendRecords('t', 0, ['a', 'b', 'c'].map((v) => ({ key: Buffer.from('active-key'), value: Buffer.from(v) })));

    await store.runCompaction(now);
    const held = recordsOf(store, 't', 0).map(({ offset, key, value }) => ({ offset, key, value }));
    const youngFrom = old.length;
    // The old part holds only the records no later record of the key (anywhere in the old part) replaced.
    expect(held.filter((r) => r.offset < youngFrom)).toEqual(latestPerKey(old));
    expect(held.filter((r) => r.offset >= youngFrom)).toHaveLength(young.length + 3);
    expect(held.slice(-3).map((r) => r.value)).toEqual(['a', 'b', 'c']);

    // Once the young part is old enough, it is compacted against the whole range.
    await store.runCompaction(now + HOUR);
    expect(recordsOf(store, 't', 0).filter((r) => r.key !== 'active-key').map(({ offset, key, value }) => ({ offset, key, value }))).toEqual(
      latestPerKey([...old, ...young]),
    );
  });

  it('rolls the active segment at max.compaction.lag.ms, says the cleaner is behind past it, and compacts it then', async () => {
    await open();
    await store.createTopic('t', { configs: { 'cleanup.policy': 'compact', 'max.compaction.lag.ms': '100' } });
    await produce([['k', '1'], ['k', '2']], 1);
    expect(store.describeTopic('t').partitions[0]!.segments).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await produce([['k', '3']], 1);
    const info = store.describeTopic('t').partitions[0]!;
    expect(info.segments).toBe(2);
    expect(info.compaction?.behind).toBe(true);

    expect((await store.runCompaction()).recordsRemoved).toBe(1);
    expect(recordsOf(store, 't', 0).map((r) => [r.offset, r.value])).toEqual([
      [1, '2'],
      [2, '3'],
    ]);
    expect(store.describeTopic('t').partitions[0]!.compaction?.behind).toBe(false);
  });

  it('keeps tombstones delete.retention.ms after the pass that first compacted them, not one ms less, and removes them after', async () => {
    await open();
    await createCompacted();
    const entries: Entry[] = [
      ['a', '1'],
      ['b', '1'],
      ['a', null],
      ['c', '1'],
      ['b', '2'],
      ['c', null],
    ];
    await produce(entries, 1);
    await seal();
    const t0 = Date.now();
    await store.runCompaction(t0);
    expect(compacted()).toEqual(latestPerKey(entries));
    expect(compacted().filter((r) => r.value === null).map((r) => r.key)).toEqual(['a', 'c']);

    expect((await store.runCompaction(t0 + HOUR)).partitionsCompacted).toBe(0);
    expect(compacted()).toEqual(latestPerKey(entries));

    const report = await store.runCompaction(t0 + HOUR + 1);
    expect(report).toMatchObject({ partitionsCompacted: 1, recordsRemoved: 2 });
    expect(compacted()).toEqual(latestPerKey(entries, false));
    expect(compacted()).toEqual([{ offset: 4, key: 'b', value: '2' }]);
  });

  it("keeps an idempotent producer's last batch, emptied, with its span and sequence", async () => {
    await open();
    await createCompacted();
    const producerBatch = (value: string, sequence: number) =>
      encodeRecordBatch({ baseOffset: 0, records: [{ key: Buffer.from('k'), value: Buffer.from(value) }], producerId: 4242, producerEpoch: 3, baseSequence: sequence });
    await store.appendBatches('t', 0, producerBatch('p0', 0));
    await store.appendBatches('t', 0, producerBatch('p1', 1));
    // Then a non-idempotent writer replaces the key: both producer batches lose their record.
    await produce([['k', 'plain']], 1);
    await seal();
    await store.runCompaction();

    const { batches } = store.read('t', 0, 0, 1 << 30);
    const headers = batches.map((b) => readBatchHeader(b));
    expect(headers.map((h) => [h.baseOffset, h.recordCount, h.producerId])).toEqual([
      [1, 0, 4242],
      [2, 1, -1],
      [3, 1, -1],
    ]);
    expect(headers[0]).toMatchObject({ lastOffsetDelta: 0, producerEpoch: 3, baseSequence: 1 });
    expect(compacted()).toEqual([{ offset: 2, key: 'k', value: 'plain' }]);
  });

  it("drops a producer's emptied batch once a later pass meets a later batch of the producer, across chunks", async () => {
    await open({ compactionTestHooks: { chunkBytes: 50 } });
    await createCompacted({ 'min.cleanable.dirty.ratio': '0' });
    const producerBatch = (key: string, sequence: number) =>
      encodeRecordBatch({ baseOffset: 0, records: [{ key: Buffer.from(key), value: Buffer.from(`seq-${sequence}`) }], producerId: 7, producerEpoch: 0, baseSequence: sequence });
    await store.appendBatches('t', 0, producerBatch('k', 0));
    await produce([['k', 'plain']], 1);
    // The producer's next batch is the active segment: the first pass cannot know it is later.
    await store.appendBatches('t', 0, producerBatch('other', 1));
    await store.runCompaction();
    const headers = () => store.read('t', 0, 0, 1 << 30).batches.map((b) => readBatchHeader(b)).map((h) => [h.baseOffset, h.recordCount, h.producerId]);
    expect(headers()).toEqual([
      [0, 0, 7],
      [1, 1, -1],
      [2, 1, 7],
    ]);
    await seal();
    await store.runCompaction();
    expect(headers()).toEqual([
      [1, 1, -1],
      [2, 1, 7],
      [3, 1, -1],
    ]);
  });

  it('re-running a pass over an already compacted range changes nothing', async () => {
    await open();
    await createCompacted();
    const entries = workload(10, 8);
    await produce(entries);
    await seal();
    await store.runCompaction();
    const once = compacted();
    const size = store.describeTopic('t').partitions[0]!.sizeBytes;
    await store.close();

    // Move the checkpoint back to the start, as a crash before it was written would leave it.
    const env = openLmdbEnv(dir, false);
    for (const { key, value } of env.cleaner.getRange()) await env.cleaner.put(key, { ...value, firstDirtyOffset: 0 });
    await env.root.close();

    await open();
    const report = await store.runCompaction();
    expect(report).toEqual({ partitionsCompacted: 1, recordsRemoved: 0, bytesReclaimed: 0 });
    expect(compacted()).toEqual(once);
    expect(store.describeTopic('t').partitions[0]!.sizeBytes).toBe(size);
  });

  it('a pass interrupted between chunks leaves every latest record, and the rerun after a reopen ends as one pass would', async () => {
    let interruptAt = 2;
    const hooks = {
      chunkBytes: 300,
      betweenChunks: (chunk: number) => {
        if (chunk === interruptAt) throw new Error('interrupted');
      },
    };
    await open({ compactionTestHooks: hooks });
    await createCompacted();
    const entries = workload(12, 10);
    await produce(entries, 4);
    await seal();
    await expect(store.runCompaction()).rejects.toThrow('interrupted');

    const partial = compacted();
    const offsets = partial.map((r) => r.offset);
    expect(new Set(offsets).size).toBe(offsets.length);
    expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
    for (const latest of latestPerKey(entries)) expect(partial).toContainEqual(latest);
    expect(partial.length).toBeLessThan(entries.length);
    expect(partial.length).toBeGreaterThan(latestPerKey(entries).length);
    expect(store.describeTopic('t').partitions[0]!.compaction?.lastCompactedAt).toBeNull();
    expect(store.stats().usedBytes).toBe(recount());

    interruptAt = -1;
    await reopen({ compactionTestHooks: hooks });
    expect(compacted()).toEqual(partial);
    await store.runCompaction();
    expect(compacted()).toEqual(latestPerKey(entries));
  });

  it('compacts the other partitions when one pass fails, reports the failure, and leaves that partition alone for a while', async () => {
    let failures = 0;
    await open({
      compactionTestHooks: {
        chunkBytes: 300,
        betweenChunks: () => {
          if (failures++ === 0) throw new Error('disk trouble');
        },
      },
    });
    await store.createTopic('t', { partitions: 2, configs: { 'cleanup.policy': 'compact', 'segment.bytes': '100' } });
    const entries = workload(12, 10);
    for (const partition of [0, 1]) {
      for (let i = 0; i < entries.length; i += 4) {
        await store.appendRecords('t', partition, entries.slice(i, i + 4).map(([key, value]) => ({ key: Buffer.from(key), value: value === null ? null : Buffer.from(value) })));
      }
      await store.appendRecords('t', partition, [{ key: Buffer.from('sentinel'), value: Buffer.from('active') }]);
    }
    await expect(store.runCompaction()).rejects.toThrow('disk trouble');
    const held = [0, 1].map((partition) => recordsOf(store, 't', partition).filter((r) => r.key !== 'sentinel').map(({ offset, key, value }) => ({ offset, key, value })));
    const compactedOnes = held.filter((records) => JSON.stringify(records) === JSON.stringify(latestPerKey(entries)));
    expect(compactedOnes).toHaveLength(1);
    expect((await store.runCompaction()).partitionsCompacted).toBe(0);
  });

  it('stops a pass when the store closes between chunks, and finishes it after reopening', async () => {
    let closing: Promise<void> | undefined;
    await open({
      compactionTestHooks: {
        chunkBytes: 300,
        betweenChunks: (chunk) => {
          if (chunk === 1) closing = store.close();
        },
      },
    });
    await createCompacted();
    const entries = workload(12, 10);
    await produce(entries, 4);
    await seal();
    const report = await store.runCompaction();
    expect(report.partitionsCompacted).toBe(0);
    await closing;

    await open();
    expect(compacted().length).toBeGreaterThan(latestPerKey(entries).length);
    await store.runCompaction();
    expect(compacted()).toEqual(latestPerKey(entries));
  });

  it('on compact,delete, lets retention delete segments between two chunks of a pass and goes on after them', async () => {
    const now = Date.now();
    let retained = 0;
    await open({
      compactionTestHooks: {
        chunkBytes: 300,
        betweenChunks: async (chunk) => {
          if (chunk === 1) retained = (await store.runRetention(now)).segmentsDeleted;
        },
      },
    });
    await createCompacted({ 'cleanup.policy': 'compact,delete', 'retention.ms': String(HOUR) });
    const old = workload(12, 5);
    const young = workload(12, 5);
    await produce(old, 4, now - 2 * HOUR);
    await produce(young, 4, now - 1000);
    await seal();
    await store.runCompaction(now);
    expect(retained).toBeGreaterThan(0);
    const { logStartOffset } = store.offsets('t', 0);
    expect(logStartOffset).toBe(old.length);
    expect(compacted()).toEqual(latestPerKey([...old, ...young]).filter((r) => r.offset >= logStartOffset));
    expect(store.stats().usedBytes).toBe(recount());
  });

  it('goes on with the reloaded partition when a group commit fails between two chunks of a pass', async () => {
    await open({
      compactionTestHooks: {
        chunkBytes: 300,
        betweenChunks: async (chunk) => {
          if (chunk !== 1) return;
          failNextFlush(store);
          await expect(store.appendRecords('other', 0, [{ key: null, value: Buffer.from('x') }])).rejects.toThrow(/EIO/);
          await vi.waitFor(() => expect(store.stats().storageFailure).toBeUndefined(), { timeout: 5000 });
        },
      },
    });
    await store.createTopic('other');
    // Segments of several batches, so the pass is inside one when the partition is reloaded.
    await createCompacted({ 'segment.bytes': '1000' });
    const entries = workload(12, 10);
    await produce(entries, 4);
    await seal();
    await store.runCompaction();
    expect(compacted()).toEqual(latestPerKey(entries));
    const info = store.describeTopic('t').partitions[0]!;
    expect(info.sizeBytes).toBe(recount());
    await reopen();
    expect(store.describeTopic('t').partitions[0]).toEqual(info);
  });

  it('stops a pass when its topic is deleted between chunks', async () => {
    await open({
      compactionTestHooks: {
        chunkBytes: 300,
        betweenChunks: async (chunk) => {
          if (chunk === 0) await store.deleteTopic('t');
        },
      },
    });
    await createCompacted();
    await produce(workload(12, 10), 4);
    await seal();
    expect((await store.runCompaction()).partitionsCompacted).toBe(0);
    expect(store.hasTopic('t')).toBe(false);
    expect(store.stats().usedBytes).toBe(0);
    await reopen();
    await store.createTopic('t');
    expect(recordsOf(store, 't', 0)).toEqual([]);
    expect(store.stats().usedBytes).toBe(0);
  });

  it('keeps the store counters and sizes equal to a recount, across a reopen, and reads the gapped log after it', async () => {
    await open();
    await createCompacted();
    const entries = workload(25, 12);
    await produce(entries, 6);
    await seal();
    await store.runCompaction();
    const held = compacted();
    const info = store.describeTopic('t').partitions[0]!;
    expect(info.sizeBytes).toBe(recount());
    expect(store.stats().usedBytes).toBe(recount());

    await reopen();
    expect(compacted()).toEqual(held);
    expect(store.describeTopic('t').partitions[0]).toEqual(info);
    expect(store.stats().usedBytes).toBe(recount());
    // Reads starting at a removed offset go on at the next record held.
    const removed = entries.findIndex((_, offset) => !held.some((r) => r.offset === offset));
    const next = held.find((r) => r.offset > removed)!;
    expect(recordsOf(store, 't', 0, removed)[0]).toMatchObject({ offset: next.offset, key: next.key });
    // Appends go on after the old high watermark.
    const appended = await store.appendRecords('t', 0, [{ key: Buffer.from('new'), value: Buffer.from('x') }]);
    expect(appended.baseOffset).toBe(entries.length + 1);
  });
});
