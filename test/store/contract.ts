/**
 * The store contract: every LogStore implementation must pass this suite (the LMDB store runs it
 * in lmdb-store.test.ts). Behaviour only — nothing here knows about LMDB.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isWeirError, type ErrorCode } from '../../src/errors.js';
import { decodeRecordBatch, encodeRecordBatch } from '../../src/kafka/protocol/record-batch.js';
import type { LogStore, StoreOptions } from '../../src/store/index.js';

export interface StoreFactory {
  open(overrides?: Partial<StoreOptions>): Promise<LogStore>;
  cleanup(): void;
}

export async function expectWeirError(promise: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<void> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (err) {
    if (!isWeirError(err)) throw err;
    expect(err.code).toBe(code);
    return;
  }
  throw new Error(`expected a WeirError ${code}, but nothing was thrown`);
}

const value = (s: string) => Buffer.from(s);

/** Decodes every record of a read, from `from` on (a read may start mid-batch). */
export function recordsOf(store: LogStore, topic: string, partition: number, from = 0, maxBytes = 1 << 30) {
  const out: { offset: number; key: string | null; value: string | null; timestamp: number; headers: { key: string; value: string | null }[] }[] = [];
  const { batches } = store.read(topic, partition, from, maxBytes);
  for (const batch of batches) {
    for (const r of decodeRecordBatch(batch).records) {
      if (r.offset < from) continue;
      out.push({
        offset: r.offset,
        key: r.key?.toString() ?? null,
        value: r.value?.toString() ?? null,
        timestamp: r.timestamp,
        headers: r.headers.map((h) => ({ key: h.key, value: h.value?.toString() ?? null })),
      });
    }
  }
  return out;
}

export function storeContract(name: string, makeFactory: () => StoreFactory): void {
  describe(`LogStore contract: ${name}`, () => {
    let factory: StoreFactory;
    let store: LogStore;

    beforeEach(async () => {
      factory = makeFactory();
      store = await factory.open();
    });

    afterEach(async () => {
      await store.close();
      factory.cleanup();
    });

    describe('topics', () => {
      it('creates, lists, describes and deletes topics with Kafka config names', async () => {
        const described = await store.createTopic('sensors.temp', { partitions: 3, configs: { 'retention.ms': '3600000' } });
        expect(described.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
        expect(described.config['retention.ms']).toBe(3_600_000);
        expect(described.overrides).toEqual({ 'retention.ms': 3_600_000 });
        expect(described.config['cleanup.policy']).toBe('delete');
        expect(store.listTopics()).toEqual(['sensors.temp']);
        await store.deleteTopic('sensors.temp');
        expect(store.listTopics()).toEqual([]);
        expect(store.hasTopic('sensors.temp')).toBe(false);
      });

      it('refuses invalid names, duplicate topics, bad configs and bad partition counts with clear errors', async () => {
        await expectWeirError(store.createTopic('bad name'), 'INVALID_TOPIC_NAME');
        await expectWeirError(store.createTopic('..'), 'INVALID_TOPIC_NAME');
        await expectWeirError(store.createTopic('x'.repeat(250)), 'INVALID_TOPIC_NAME');
        await expectWeirError(store.createTopic('t', { partitions: 0 }), 'INVALID_PARTITIONS');
        await expectWeirError(store.createTopic('t', { configs: { 'retention.ms': 'soon' } }), 'INVALID_CONFIG');
        await expectWeirError(store.createTopic('t', { configs: { 'no.such.config': '1' } }), 'INVALID_CONFIG');
        await expectWeirError(store.createTopic('t', { configs: { 'cleanup.policy': 'compress' } }), 'INVALID_CONFIG');
        await expectWeirError(store.createTopic('t', { configs: { 'min.compaction.lag.ms': '10', 'max.compaction.lag.ms': '5' } }), 'INVALID_CONFIG');
        await store.createTopic('t');
        await expectWeirError(store.createTopic('t'), 'TOPIC_ALREADY_EXISTS');
        expect(store.listTopics()).toEqual(['t']);
      });

      it('alters configs and grows partitions, never shrinks', async () => {
        await store.createTopic('t', { partitions: 2 });
        const altered = await store.alterTopicConfigs('t', { 'retention.bytes': '1000' });
        expect(altered.config['retention.bytes']).toBe(1000);
        // Kafka checks min.compaction.lag.ms ≤ max.compaction.lag.ms on the config after the change.
        await store.alterTopicConfigs('t', { 'max.compaction.lag.ms': '1000' });
        await expectWeirError(store.alterTopicConfigs('t', { 'min.compaction.lag.ms': '2000' }), 'INVALID_CONFIG');
        await store.alterTopicConfigs('t', { 'min.compaction.lag.ms': '2000' }, ['max.compaction.lag.ms']);
        const compacted = await store.alterTopicConfigs('t', { 'cleanup.policy': 'delete, compact' });
        expect(compacted.config['cleanup.policy']).toBe('compact,delete');
        const reset = await store.alterTopicConfigs('t', {}, ['retention.bytes', 'min.compaction.lag.ms', 'cleanup.policy']);
        expect(reset.config['retention.bytes']).toBe(-1);
        expect(reset.overrides).toEqual({});
        const grown = await store.createPartitions('t', 4);
        expect(grown.partitions).toHaveLength(4);
        await expectWeirError(store.createPartitions('t', 3), 'INVALID_PARTITIONS');
      });

      it('deletes a topic while other topics are under constant load, after its queued appends land', async () => {
        await store.createTopic('t');
        await store.createTopic('busy');
        let running = true;
        const load = (async () => {
          let n = 0;
          while (running) n += (await store.appendRecords('busy', 0, [{ key: null, value: value('x') }])).lastOffset >= 0 ? 1 : 0;
          return n;
        })();
        const queued = store.appendRecords('t', 0, [{ key: null, value: value('queued before delete') }]);
        await store.deleteTopic('t');
        expect((await queued).baseOffset).toBe(0);
        expect(store.hasTopic('t')).toBe(false);
        await expectWeirError(store.appendRecords('t', 0, [{ key: null, value: null }]), 'UNKNOWN_TOPIC_OR_PARTITION');
        running = false;
        expect(await load).toBeGreaterThan(0);
      });

      it('a deleted and recreated topic starts empty at offset 0', async () => {
        await store.createTopic('t');
        await store.appendRecords('t', 0, [{ key: null, value: value('old') }]);
        await store.deleteTopic('t');
        await store.createTopic('t');
        expect(store.offsets('t', 0)).toEqual({ logStartOffset: 0, highWatermark: 0, lastStableOffset: 0 });
        const r = await store.appendRecords('t', 0, [{ key: null, value: value('new') }]);
        expect(r.baseOffset).toBe(0);
        expect(recordsOf(store, 't', 0).map((x) => x.value)).toEqual(['new']);
      });

      it('topics created concurrently get partitions of their own', async () => {
        await Promise.all([store.createTopic('a', { partitions: 2 }), store.createTopic('b', { partitions: 2 })]);
        await Promise.all([store.createPartitions('a', 3), store.createTopic('c', { partitions: 2 })]);
        await expectWeirError(Promise.all([store.createTopic('d'), store.createTopic('d')]), 'TOPIC_ALREADY_EXISTS');
        const layout = { a: 3, b: 2, c: 2 } as const;
        const writes = Object.entries(layout).flatMap(([t, n]) =>
          Array.from({ length: n }, (_, p) => store.appendRecords(t, p, [{ key: null, value: value(`${t}${p}`) }])),
        );
        await Promise.all(writes);
        for (const [t, n] of Object.entries(layout)) {
          for (let p = 0; p < n; p++) expect(recordsOf(store, t, p).map((r) => r.value)).toEqual([`${t}${p}`]);
        }
      });
    });

    describe('append and read', () => {
      beforeEach(async () => {
        await store.createTopic('t', { partitions: 2 });
      });

      it('assigns dense offsets and reads back keys, values, headers and timestamps', async () => {
        const a = await store.appendRecords('t', 0, [
          { key: value('k1'), value: value('v1'), headers: [{ key: 'h', value: value('x') }], timestamp: 1_700_000_000_000 },
          { key: null, value: null },
        ]);
        const b = await store.appendRecords('t', 0, [{ key: value('k3'), value: value('v3') }]);
        expect(a).toMatchObject({ baseOffset: 0, lastOffset: 1 });
        expect(b).toMatchObject({ baseOffset: 2, lastOffset: 2 });
        const records = recordsOf(store, 't', 0);
        expect(records.map((r) => r.offset)).toEqual([0, 1, 2]);
        expect(records[0]).toMatchObject({ key: 'k1', value: 'v1', timestamp: 1_700_000_000_000, headers: [{ key: 'h', value: 'x' }] });
        expect(records[1]).toMatchObject({ key: null, value: null });
        expect(store.offsets('t', 0)).toEqual({ logStartOffset: 0, highWatermark: 3, lastStableOffset: 3 });
        expect(store.offsets('t', 1)).toEqual({ logStartOffset: 0, highWatermark: 0, lastStableOffset: 0 });
      });

      it('concurrent appenders get dense, non-overlapping offsets and their own records', async () => {
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) => store.appendRecords('t', 1, [{ key: null, value: value(`r${i}`) }])),
        );
        const offsets = results.map((r) => r.baseOffset).sort((x, y) => x - y);
        expect(offsets).toEqual(Array.from({ length: 200 }, (_, i) => i));
        const byOffset = new Map(recordsOf(store, 't', 1).map((r) => [r.offset, r.value]));
        results.forEach((r, i) => expect(byOffset.get(r.baseOffset)).toBe(`r${i}`));
      });

      it('reads from any offset, whole batches within the byte budget, at least one batch', async () => {
        for (let i = 0; i < 10; i++) await store.appendRecords('t', 0, [{ key: null, value: Buffer.alloc(100, i) }]);
        const one = store.read('t', 0, 5, 1);
        expect(one.batches).toHaveLength(1);
        expect(decodeRecordBatch(one.batches[0]!).records[0]!.offset).toBe(5);
        const some = store.read('t', 0, 0, 500);
        expect(some.bytes).toBeLessThanOrEqual(500);
        expect(some.batches.length).toBeGreaterThan(1);
        const all = store.read('t', 0, 0, 1 << 20);
        expect(all.batches).toHaveLength(10);
        expect(all.highWatermark).toBe(10);
        expect(store.read('t', 0, 10, 1000).batches).toHaveLength(0);
        expect(() => store.read('t', 0, 11, 1000)).toThrow(/out of range/);
      });

      it('a read mid-batch returns the batch that contains the offset', async () => {
        await store.appendRecords('t', 0, [1, 2, 3, 4].map((i) => ({ key: null, value: value(`v${i}`) })));
        expect(recordsOf(store, 't', 0, 2).map((r) => r.value)).toEqual(['v3', 'v4']);
      });

      it('stores client-built batches as they came, with offsets rewritten', async () => {
        await store.appendRecords('t', 0, [{ key: null, value: value('first') }]);
        const clientBatch = encodeRecordBatch({
          baseOffset: 0,
          records: [
            { key: value('a'), value: value('1'), timestamp: 1000 },
            { key: value('b'), value: value('2'), timestamp: 2000 },
          ],
          producerId: 7,
          producerEpoch: 1,
          baseSequence: 0,
        });
        const r = await store.appendBatches('t', 0, clientBatch);
        expect(r).toMatchObject({ baseOffset: 1, lastOffset: 2 });
        const stored = store.read('t', 0, 1, 1 << 20).batches[0]!;
        const decoded = decodeRecordBatch(stored);
        expect(decoded.header.baseOffset).toBe(1);
        expect(decoded.header.producerId).toBe(7);
        expect(decoded.records.map((x) => x.key?.toString())).toEqual(['a', 'b']);
        expect(stored.subarray(21)).toEqual(clientBatch.subarray(21));
      });

      it('refuses corrupt batches and oversize records without disturbing the log', async () => {
        const batch = encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: value('x') }] });
        const corrupt = Buffer.from(batch);
        corrupt[corrupt.length - 1] ^= 0xff;
        await expectWeirError(store.appendBatches('t', 0, corrupt), 'CORRUPT_MESSAGE');
        await expectWeirError(store.appendBatches('t', 0, batch.subarray(0, 30)), 'CORRUPT_MESSAGE');
        await store.alterTopicConfigs('t', { 'max.message.bytes': '1000' });
        await expectWeirError(store.appendRecords('t', 0, [{ key: null, value: Buffer.alloc(2000) }]), 'MESSAGE_TOO_LARGE');
        await store.appendRecords('t', 0, [{ key: null, value: value('ok') }]);
        expect(recordsOf(store, 't', 0).map((r) => r.value)).toEqual(['ok']);
      });

      it('unknown topics and partitions are clear errors', async () => {
        await expectWeirError(store.appendRecords('nope', 0, [{ key: null, value: null }]), 'UNKNOWN_TOPIC_OR_PARTITION');
        await expectWeirError(store.appendRecords('t', 2, [{ key: null, value: null }]), 'UNKNOWN_TOPIC_OR_PARTITION');
        await expectWeirError(() => store.read('nope', 0, 0, 100), 'UNKNOWN_TOPIC_OR_PARTITION');
      });

      it('waitForData wakes on append and times out otherwise', async () => {
        const started = Date.now();
        expect(await store.waitForData('t', 0, 0, 50)).toBe(false);
        expect(Date.now() - started).toBeGreaterThanOrEqual(40);
        const waiting = store.waitForData('t', 0, 0, 10_000);
        await store.appendRecords('t', 0, [{ key: null, value: value('wake') }]);
        expect(await waiting).toBe(true);
        const controller = new AbortController();
        const aborted = store.waitForData('t', 0, 1, 10_000, controller.signal);
        controller.abort();
        expect(await aborted).toBe(false);
      });

      it('looks up offsets by timestamp', async () => {
        await store.appendRecords('t', 0, [{ key: null, value: value('a'), timestamp: 1000 }]);
        await store.appendRecords('t', 0, [
          { key: null, value: value('b'), timestamp: 2000 },
          { key: null, value: value('c'), timestamp: 3000 },
        ]);
        expect(store.offsetForTimestamp('t', 0, 0)).toEqual({ offset: 0, timestamp: 1000 });
        expect(store.offsetForTimestamp('t', 0, 2500)).toEqual({ offset: 2, timestamp: 3000 });
        expect(store.offsetForTimestamp('t', 0, 4000)).toBeNull();
      });

      it('deleteRecords moves the log start offset', async () => {
        await store.appendRecords('t', 0, [1, 2, 3].map((i) => ({ key: null, value: value(String(i)) })));
        expect(await store.deleteRecords('t', 0, 2)).toBe(2);
        expect(store.offsets('t', 0)).toEqual({ logStartOffset: 2, highWatermark: 3, lastStableOffset: 3 });
        await expectWeirError(() => store.read('t', 0, 1, 100), 'OFFSET_OUT_OF_RANGE');
        expect(recordsOf(store, 't', 0, 2).map((r) => r.value)).toEqual(['3']);
      });
    });

    describe('durable state for others', () => {
      it('keeps consumer-group offsets with metadata', async () => {
        await store.createTopic('t', { partitions: 2 });
        await store.commitGroupOffsets('g1', [
          { topic: 't', partition: 0, offset: 5, leaderEpoch: -1, metadata: 'm' },
          { topic: 't', partition: 1, offset: 7, leaderEpoch: -1, metadata: null },
        ]);
        await store.commitGroupOffsets('g2', [{ topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: '' }]);
        const g1 = store.fetchGroupOffsets('g1');
        expect(g1.map(({ commitTimestamp: _t, ...o }) => o)).toEqual([
          { topic: 't', partition: 0, offset: 5, leaderEpoch: -1, metadata: 'm' },
          { topic: 't', partition: 1, offset: 7, leaderEpoch: -1, metadata: null },
        ]);
        expect(store.listGroupsWithOffsets().sort()).toEqual(['g1', 'g2']);
        await store.deleteGroupOffsets('g1');
        expect(store.fetchGroupOffsets('g1')).toEqual([]);
      });

      it('keeps named cursors', async () => {
        await store.createTopic('t');
        await store.setCursor('mirror:dc', 't', 0, 42);
        expect(store.getCursor('mirror:dc', 't', 0)).toBe(42);
        expect(store.listCursors()).toEqual([{ name: 'mirror:dc', topic: 't', partition: 0, offset: 42 }]);
        await store.deleteCursor('mirror:dc', 't', 0);
        expect(store.getCursor('mirror:dc', 't', 0)).toBeUndefined();
        await expectWeirError(store.setCursor('c', 'nope', 0, 1), 'UNKNOWN_TOPIC_OR_PARTITION');
      });
    });
  });
}
