import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { isWeirError } from '../../src/errors.js';
import { openStore, type DropEvent, type LogStore, type StoreOptions } from '../../src/store/index.js';
import { openTestStore, storeOptions, tempDir } from '../helpers/store.js';
import { expectWeirError, recordsOf } from './contract.js';

const HOUR = 3_600_000;
const payload = (i: number) => Buffer.alloc(100, i % 256);

describe('retention and the disk budget', () => {
  let dir: string;
  let cleanup: () => void;
  let store: LogStore;
  let drops: DropEvent[];

  async function open(overrides: Partial<StoreOptions> = {}) {
    store = await openTestStore(dir, { onDrop: (e) => drops.push(e), ...overrides });
    return store;
  }

  /** Appends `n` single-record batches; with segment.bytes=400 each segment holds two of them. */
  async function fill(topic: string, n: number, timestamp?: number) {
    for (let i = 0; i < n; i++) await store.appendRecords(topic, 0, [{ key: null, value: payload(i), timestamp }]);
  }

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    drops = [];
  });

  afterEach(async () => {
    await store.close();
    cleanup();
  });

  it('rolls segments by size and by age', async () => {
    await open();
    await store.createTopic('t', { configs: { 'segment.bytes': '400' } });
    await fill('t', 6);
    expect(store.describeTopic('t').partitions[0]!.segments).toBe(3);
    await store.createTopic('aged', { configs: { 'segment.ms': '1' } });
    await fill('aged', 1);
    await new Promise((r) => setTimeout(r, 5));
    await fill('aged', 1);
    expect(store.describeTopic('aged').partitions[0]!.segments).toBe(2);
  });

  it('deletes whole segments by age (retention.ms), the expired active one included', async () => {
    await open();
    const now = Date.now();
    await store.createTopic('t', { configs: { 'segment.bytes': '400', 'retention.ms': String(HOUR) } });
    await fill('t', 4, now - 2 * HOUR);
    await fill('t', 2, now);
    const report = await store.runRetention(now);
    expect(report.segmentsDeleted).toBe(2);
    expect(store.offsets('t', 0)).toEqual({ logStartOffset: 4, highWatermark: 6, lastStableOffset: 6 });
    await expectWeirError(() => store.read('t', 0, 3, 1000), 'OFFSET_OUT_OF_RANGE');
    expect(recordsOf(store, 't', 0, 4).map((r) => r.offset)).toEqual([4, 5]);
    expect(drops).toEqual([]);

    // Everything expired: the partition is emptied and keeps counting from where it was.
    await store.runRetention(now + 3 * HOUR);
    expect(store.offsets('t', 0)).toEqual({ logStartOffset: 6, highWatermark: 6, lastStableOffset: 6 });
    expect((await store.appendRecords('t', 0, [{ key: null, value: payload(0) }])).baseOffset).toBe(6);
  });

  it('deletes the oldest segments by size (retention.bytes), never the active one', async () => {
    await open();
    await store.createTopic('t', { configs: { 'segment.bytes': '400', 'retention.bytes': '500' } });
    await fill('t', 8);
    const before = store.describeTopic('t').partitions[0]!;
    expect(before.segments).toBe(4);
    await store.runRetention();
    const after = store.describeTopic('t').partitions[0]!;
    expect(after.sizeBytes).toBeGreaterThanOrEqual(500);
    expect(after.sizeBytes).toBeLessThan(before.sizeBytes);
    expect(after.segments).toBe(2);
    expect(after.logStartOffset).toBe(4);
    expect(store.stats().usedBytes).toBe(after.sizeBytes);
  });

  it('a cursor holds segments it has not passed; moving it releases them', async () => {
    await open();
    const now = Date.now();
    await store.createTopic('t', { configs: { 'segment.bytes': '400', 'retention.ms': String(HOUR) } });
    await fill('t', 6, now - 2 * HOUR);
    await store.setCursor('mirror:dc', 't', 0, 3);
    await store.runRetention(now);
    // Segment [0,2) is passed; [2,4) holds offset 3, which the mirror has not delivered.
    expect(store.offsets('t', 0).logStartOffset).toBe(2);
    await store.setCursor('mirror:dc', 't', 0, 6);
    await store.runRetention(now);
    expect(store.offsets('t', 0).logStartOffset).toBe(6);
    expect(drops).toEqual([]);
  });

  it('drop-oldest deletes past a cursor, and counts and reports each drop', async () => {
    await open();
    const now = Date.now();
    await store.createTopic('t', {
      configs: { 'segment.bytes': '400', 'retention.ms': String(HOUR), 'weir.overflow.policy': 'drop-oldest' },
    });
    await fill('t', 4, now - 2 * HOUR);
    await fill('t', 1, now);
    await store.setCursor('mirror:dc', 't', 0, 1);
    const report = await store.runRetention(now);
    expect(report.recordsDropped).toBe(3);
    expect(drops).toEqual([
      { topic: 't', partition: 0, fromOffset: 1, toOffset: 2, reason: 'retention.ms' },
      { topic: 't', partition: 0, fromOffset: 2, toOffset: 4, reason: 'retention.ms' },
    ]);
    expect(store.stats().recordsDropped).toBe(3);
  });

  describe('at the disk budget', () => {
    // Each single-record batch here is 170 bytes: five fit in 900, a sixth does not.
    const budget = { diskBudgetBytes: 900, blockTimeoutMs: 200 };

    it('reject-new fails appends at once, with a non-retriable error', async () => {
      await open(budget);
      await store.createTopic('t', { configs: { 'weir.overflow.policy': 'reject-new' } });
      await fill('t', 5);
      const started = Date.now();
      try {
        await fill('t', 1);
        expect.unreachable('the append should have been refused');
      } catch (err) {
        expect(isWeirError(err, 'DISK_BUDGET_FULL')).toBe(true);
        expect((err as { retriable: boolean }).retriable).toBe(false);
      }
      expect(Date.now() - started).toBeLessThan(150);
      expect(store.offsets('t', 0).highWatermark).toBe(5);
    });

    it('block makes appends wait, bounded, then fail retriably', async () => {
      await open(budget);
      await store.createTopic('t');
      await fill('t', 5);
      const started = Date.now();
      await expectWeirError(fill('t', 1), 'DISK_BUDGET_FULL_RETRIABLE');
      expect(Date.now() - started).toBeGreaterThanOrEqual(180);
      expect(store.offsets('t', 0).highWatermark).toBe(5);
    });

    it('block lets a waiting append through as soon as retention frees space', async () => {
      await open({ ...budget, blockTimeoutMs: 5_000 });
      await store.createTopic('t', { configs: { 'segment.bytes': '400' } });
      await fill('t', 5);
      const waiting = store.appendRecords('t', 0, [{ key: null, value: payload(9) }]);
      await store.alterTopicConfigs('t', { 'retention.bytes': '0' });
      await store.runRetention();
      expect((await waiting).baseOffset).toBe(5);
    });

    it('tells the operator once when the budget holds appends back, and again when there is room', async () => {
      const lines: { level: number; msg: string; appendsHeld?: number; diskBudgetBytes?: number }[] = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
      store = await openStore(storeOptions(dir, { ...budget, blockTimeoutMs: 5_000 }), logger);
      await store.createTopic('t', { configs: { 'segment.bytes': '400' } });
      await fill('t', 5);
      const waiting = [0, 1].map((i) => store.appendRecords('t', 0, [{ key: null, value: payload(i) }]));
      await new Promise((r) => setTimeout(r, 50));
      const warnings = lines.filter((l) => l.msg.startsWith('disk budget full'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ level: 40, diskBudgetBytes: 900, appendsHeld: 1 });
      expect(lines.some((l) => l.msg.startsWith('disk budget has room'))).toBe(false);

      await store.alterTopicConfigs('t', { 'retention.bytes': '0' });
      await store.runRetention();
      await Promise.all(waiting);
      await store.runRetention();
      const room = lines.filter((l) => l.msg === 'disk budget has room again: appends go on');
      expect(room).toHaveLength(1);
      expect(room[0]).toMatchObject({ level: 30, appendsHeld: 2 });
      expect(lines.filter((l) => l.msg.startsWith('disk budget full'))).toHaveLength(1);
    });

    it('drop-oldest keeps accepting and deletes the oldest segments to stay near the budget', async () => {
      await open(budget);
      await store.createTopic('t', { configs: { 'segment.bytes': '400', 'weir.overflow.policy': 'drop-oldest' } });
      await store.setCursor('mirror:dc', 't', 0, 0);
      await fill('t', 20);
      await store.runRetention();
      const p = store.describeTopic('t').partitions[0]!;
      expect(p.highWatermark).toBe(20);
      expect(store.stats().usedBytes).toBeLessThanOrEqual(900);
      expect(p.logStartOffset).toBeGreaterThan(0);
      expect(drops.every((d) => d.reason === 'disk-budget')).toBe(true);
      expect(drops.reduce((n, d) => n + d.toOffset - d.fromOffset, 0)).toBe(p.logStartOffset);
    });
  });

  it('the write queue cap makes appenders wait instead of growing memory', async () => {
    await open({ writeQueueMaxRecords: 10, blockTimeoutMs: 5_000 });
    await store.createTopic('t');
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => store.appendRecords('t', 0, [{ key: null, value: payload(i) }])),
    );
    expect(results.map((r) => r.baseOffset).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(store.stats().commits).toBeGreaterThanOrEqual(10);
  });
});
