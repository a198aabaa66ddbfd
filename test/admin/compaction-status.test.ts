/** The log cleaner on /metrics and on the status page, from a real store compacted once. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/admin/metrics.js';
import { Readiness } from '../../src/admin/readiness.js';
import { statusSnapshot } from '../../src/admin/status.js';
import { WearWindow } from '../../src/admin/wear-window.js';
import type { LogStore } from '../../src/store/index.js';
import { openTestStore, tempDir } from '../helpers/store.js';
import { parsePrometheus } from '../helpers/prometheus.js';

describe('log compaction on /metrics and the status page', () => {
  let cleanup: () => void;
  let store: LogStore;
  let compactedAt: number;
  let reclaimed: number;

  beforeEach(async () => {
    let dir: string;
    ({ dir, cleanup } = tempDir());
    store = await openTestStore(dir);
    await store.createTopic('plain');
    for (const name of ['a', 'b']) await store.createTopic(name, { partitions: 2, configs: { 'cleanup.policy': 'compact', 'segment.bytes': '100' } });
    // Topic a, partition 0: ten values of one key, each batch a segment of its own.
    for (let i = 0; i < 10; i++) await store.appendRecords('a', 0, [{ key: Buffer.from('k'), value: Buffer.from(`v${i}`) }]);
    compactedAt = Date.UTC(2026, 11, 7, 4, 30);
    reclaimed = (await store.runCompaction(compactedAt)).bytesReclaimed;
    expect(reclaimed).toBeGreaterThan(0);
  });

  afterEach(async () => {
    await store.close();
    cleanup();
  });

  async function scrape(max = Infinity): Promise<Map<string, number>> {
    const registry = createMetrics(store, 'test', new WearWindow(() => 0, () => 0), max);
    return parsePrometheus(await registry.metrics());
  }

  it('gives each partition of a compacted topic its series, and other topics none', async () => {
    const m = await scrape();
    const a0 = '{topic="a",partition="0"}';
    expect(m.get(`weir_log_compaction_dirty_ratio${a0}`)).toBe(0);
    expect(m.get(`weir_log_compaction_last_run_timestamp_seconds${a0}`)).toBe(compactedAt / 1000);
    expect(m.get(`weir_log_compaction_bytes_reclaimed_total${a0}`)).toBe(reclaimed);
    expect(m.get(`weir_log_compaction_behind${a0}`)).toBe(0);
    expect(m.get('weir_log_compaction_dirty_ratio{topic="b",partition="1"}')).toBe(0);
    // Never compacted: no last-run series.
    expect(m.has('weir_log_compaction_last_run_timestamp_seconds{topic="b",partition="1"}')).toBe(false);
    expect([...m.keys()].filter((k) => k.startsWith('weir_log_compaction') && k.includes('"plain"'))).toEqual([]);
  });

  it('folds the partitions past the cap into one series', async () => {
    const one = await scrape(1);
    expect(one.get('weir_log_compaction_dirty_ratio{topic="a",partition="0"}')).toBe(0);
    expect(one.get('weir_log_compaction_behind{topic="*",partition="*"}')).toBe(0);
    expect([...one.keys()].filter((k) => k.startsWith('weir_log_compaction_dirty_ratio'))).toHaveLength(2);
    const none = await scrape(0);
    expect(none.get('weir_log_compaction_bytes_reclaimed_total{topic="*",partition="*"}')).toBe(reclaimed);
    expect(none.get('weir_log_compaction_dirty_ratio{topic="*",partition="*"}')).toBe(0);
    // The oldest last run of the folded partitions: three were never compacted.
    expect([...none.keys()].filter((k) => k.startsWith('weir_log_compaction_last_run'))).toEqual([]);
    expect([...none.keys()].filter((k) => k.startsWith('weir_log_compaction_dirty_ratio'))).toHaveLength(1);
  });

  it('adds a line per compacted partition to the status page', () => {
    const snapshot = statusSnapshot(store, new Readiness(), 'test', new Map(), { window: new WearWindow(() => 0, () => 0), enduranceTbw: 2 });
    const section = snapshot.sections.find((s) => s.id === 'compaction');
    expect(section?.state).toEqual({ text: 'keeping up', level: 'ok' });
    expect(section?.table?.rows).toEqual([
      ['a-0', '0 %', '2026-12-07 04:30:00', reclaimed, 'no'],
      ['a-1', '0 %', 'never', 0, 'no'],
      ['b-0', '0 %', 'never', 0, 'no'],
      ['b-1', '0 %', 'never', 0, 'no'],
    ]);
  });
});
