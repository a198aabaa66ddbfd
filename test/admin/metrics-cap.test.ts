/**
 * admin.metrics_max_partition_series: past it, partitions get no series of their own, their
 * figures are summed into one topic="*", partition="*" series, so /metrics stays small however
 * many partitions there are.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processWriteBytes } from '../../src/admin/flash-wear.js';
import { createMetrics } from '../../src/admin/metrics.js';
import { WearWindow } from '../../src/admin/wear-window.js';
import type { LogStore } from '../../src/store/index.js';
import { openTestStore, tempDir } from '../helpers/store.js';

function series(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(name.length, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('/metrics with more partitions than admin.metrics_max_partition_series', () => {
  let store: LogStore;
  let cleanup: () => void;

  beforeEach(async () => {
    let dir: string;
    ({ dir, cleanup } = tempDir());
    store = await openTestStore(dir);
  });

  afterEach(async () => {
    await store.close();
    cleanup();
  });

  it('exports the first partitions one by one and sums the rest into topic="*", partition="*"', async () => {
    for (let t = 0; t < 10; t++) await store.createTopic(`t${t}`, { partitions: 3 });
    let total = 0;
    for (let t = 0; t < 10; t++) {
      for (let p = 0; p < 3; p++) {
        const result = await store.appendRecords(`t${t}`, p, [{ key: null, value: Buffer.alloc(10 + t) }]);
        expect(result.baseOffset).toBe(0);
        total += store.describeTopic(`t${t}`).partitions[p]!.sizeBytes;
      }
      await store.commitGroupOffsets('g', [0, 1, 2].map((partition) => ({ topic: `t${t}`, partition, offset: 0, leaderEpoch: -1, metadata: null })));
    }
    const text = await createMetrics(store, 'test', new WearWindow(processWriteBytes, () => 0), 8).metrics();

    const size = series(text, 'weir_partition_size_bytes');
    expect(size.size).toBe(9);
    expect(size.has('{topic="t0",partition="0"}') && size.has('{topic="t2",partition="1"}')).toBe(true);
    expect(size.has('{topic="t2",partition="2"}')).toBe(false);
    expect([...size.values()].reduce((a, b) => a + b, 0)).toBe(total);
    expect(series(text, 'weir_partition_log_end_offset').get('{topic="*",partition="*"}')).toBe(22);
    expect(series(text, 'weir_partition_series_omitted').get('')).toBe(22);
    expect(series(text, 'weir_partitions').get('')).toBe(30);
    const lag = series(text, 'weir_consumer_group_lag');
    expect(lag.size).toBe(9);
    expect(lag.get('{group="*",topic="*",partition="*"}')).toBe(22);
  });
});
