import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/admin/metrics.js';
import { Readiness } from '../../src/admin/readiness.js';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import { statusSnapshot } from '../../src/admin/status.js';
import type { LogStore } from '../../src/store/index.js';
import { openTestStore, silentLogger, tempDir } from '../helpers/store.js';

/** Every metric the README documents, by name. */
export const DOCUMENTED_METRICS = [
  'weir_build_info',
  'weir_store_used_bytes',
  'weir_store_disk_budget_bytes',
  'weir_store_disk_budget_headroom_bytes',
  'weir_store_write_queue_records',
  'weir_store_write_queue_bytes',
  'weir_store_storage_failed',
  'weir_store_commits_total',
  'weir_store_records_appended_total',
  'weir_store_bytes_appended_total',
  'weir_store_records_dropped_total',
  'weir_flash_bytes_written_total',
  'weir_flash_write_amplification',
  'weir_topics',
  'weir_partition_log_end_offset',
  'weir_partition_log_start_offset',
  'weir_partition_size_bytes',
  'weir_consumer_group_lag',
  'process_resident_memory_bytes',
  'nodejs_eventloop_lag_seconds',
  'nodejs_heap_size_used_bytes',
];

/** Prometheus text format → series name with labels → value. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('admin HTTP: /metrics, /healthz, /readyz', () => {
  let cleanup: () => void;
  let store: LogStore;
  let server: AdminServer;
  let readiness: Readiness;
  let base: string;

  beforeEach(async () => {
    let dir: string;
    ({ dir, cleanup } = tempDir());
    store = await openTestStore(dir);
    readiness = new Readiness();
    server = await startAdminServer(
      { host: '127.0.0.1', port: 0 },
      { registry: createMetrics(store, '0.0.0-test'), readiness, logger: silentLogger, status: () => statusSnapshot(store, readiness, '0.0.0-test', new Map()) },
    );
    base = `http://127.0.0.1:${server.address.port}`;
  });

  afterEach(async () => {
    await server.close();
    await store.close();
    cleanup();
  });

  it('/readyz is 503 with reasons until every component is up, then 200; /healthz is 200', async () => {
    const listener = readiness.flag('kafka listener');
    readiness.register({ name: 'store', check: () => undefined });
    let res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ready: false, checks: { 'kafka listener': 'not started yet', store: 'ok' } });
    listener.mark();
    res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { ready: boolean }).ready).toBe(true);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('/metrics has every documented metric, and the values move under load', async () => {
    await store.createTopic('t', { partitions: 2 });
    const scrape = async () => {
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/plain/);
      return res.text();
    };
    const before = parse(await scrape());
    for (let i = 0; i < 50; i++) await store.appendRecords('t', i % 2, [{ key: null, value: Buffer.alloc(200, i) }]);
    await store.commitGroupOffsets('dashboards', [{ topic: 't', partition: 0, offset: 5, leaderEpoch: -1, metadata: null }]);
    const text = await scrape();
    for (const name of DOCUMENTED_METRICS) expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    const after = parse(text);
    expect(after.get('weir_store_records_appended_total')! - (before.get('weir_store_records_appended_total') ?? 0)).toBe(50);
    expect(after.get('weir_partition_log_end_offset{topic="t",partition="0"}')).toBe(25);
    expect(after.get('weir_partition_log_end_offset{topic="t",partition="1"}')).toBe(25);
    expect(after.get('weir_consumer_group_lag{group="dashboards",topic="t",partition="0"}')).toBe(20);
    expect(after.get('weir_store_used_bytes')).toBeGreaterThan(50 * 200);
    expect(after.get('weir_topics')).toBe(1);
    expect(after.get('weir_store_storage_failed')).toBe(0);
    expect(after.get('weir_build_info{version="0.0.0-test"}')).toBe(1);
    expect(after.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    // Counters never go down between scrapes.
    expect(after.get('weir_store_commits_total')!).toBeGreaterThanOrEqual(before.get('weir_store_commits_total') ?? 0);

    // A deleted topic's series disappear at the next scrape.
    await store.deleteTopic('t');
    expect(await scrape()).not.toMatch(/weir_partition_log_end_offset\{topic="t"/);
  });
});
