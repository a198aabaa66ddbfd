import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processWriteBytes } from '../../src/admin/flash-wear.js';
import { createMetrics } from '../../src/admin/metrics.js';
import { Readiness } from '../../src/admin/readiness.js';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import { statusSnapshot, type StatusSnapshot } from '../../src/admin/status.js';
import { WearWindow } from '../../src/admin/wear-window.js';
import type { LogStore } from '../../src/store/index.js';
import { openTestStore, silentLogger, tempDir } from '../helpers/store.js';
import { parsePrometheus } from '../helpers/prometheus.js';

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
  'weir_store_payload_bytes_appended_total',
  'weir_storage_write_bytes_total',
  'weir_storage_write_bytes_per_payload_byte',
  'weir_storage_write_rate_bytes_per_second',
  'weir_storage_write_rate_window_seconds',
  'weir_topics',
  'weir_partitions',
  'weir_partition_series_omitted',
  'weir_partition_log_end_offset',
  'weir_partition_log_start_offset',
  'weir_partition_size_bytes',
  'weir_consumer_group_lag',
  'weir_log_compaction_dirty_ratio',
  'weir_log_compaction_last_run_timestamp_seconds',
  'weir_log_compaction_bytes_reclaimed_total',
  'weir_log_compaction_behind',
  'process_resident_memory_bytes',
  'nodejs_eventloop_lag_seconds',
  'nodejs_heap_size_used_bytes',
];

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
    const wear = new WearWindow(processWriteBytes, () => store.stats().payloadBytesAppended);
    server = await startAdminServer(
      { host: '127.0.0.1', port: 0 },
      {
        registry: createMetrics(store, '0.0.0-test', wear),
        readiness,
        logger: silentLogger,
        status: () => statusSnapshot(store, readiness, '0.0.0-test', new Map(), { window: wear, enduranceTbw: 2 }),
      },
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
    const before = parsePrometheus(await scrape());
    for (let i = 0; i < 50; i++) await store.appendRecords('t', i % 2, [{ key: null, value: Buffer.alloc(200, i) }]);
    await store.commitGroupOffsets('dashboards', [{ topic: 't', partition: 0, offset: 5, leaderEpoch: -1, metadata: null }]);
    const text = await scrape();
    for (const name of DOCUMENTED_METRICS) expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    const after = parsePrometheus(text);
    expect(after.get('weir_store_records_appended_total')! - (before.get('weir_store_records_appended_total') ?? 0)).toBe(50);
    expect(after.get('weir_store_payload_bytes_appended_total')! - (before.get('weir_store_payload_bytes_appended_total') ?? 0)).toBe(50 * 200);
    // What reaches the disk depends on the filesystem (nothing on a tmpfs): exact figures are below.
    expect(after.get('weir_storage_write_bytes_total')!).toBeGreaterThanOrEqual(before.get('weir_storage_write_bytes_total') ?? 0);
    expect(Number.isFinite(after.get('weir_storage_write_bytes_per_payload_byte'))).toBe(true);
    expect(after.get('weir_storage_write_rate_window_seconds')!).toBeGreaterThan(0);
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

  it('/api/status carries the flash wear: the rate over the window, bytes per payload byte, years to the rated endurance', async () => {
    await store.createTopic('t');
    await store.appendRecords('t', 0, [{ key: Buffer.from('k'), value: Buffer.alloc(999) }]);
    const status = (await (await fetch(`${base}/api/status`)).json()) as StatusSnapshot;
    expect(status.wear).toMatchObject({ enduranceTbw: 2 });
    expect(status.wear!.payloadBytes).toBe(1000);
    expect(status.wear!.windowSeconds).toBeGreaterThan(0);
    expect(status.wear!.writeBytes).toBeGreaterThanOrEqual(0);
  });
});

describe('admin HTTP: storage writes from the wear window', () => {
  let cleanup: () => void;
  let store: LogStore;
  let server: AdminServer | undefined;

  beforeEach(async () => {
    let dir: string;
    ({ dir, cleanup } = tempDir());
    store = await openTestStore(dir);
  });

  afterEach(async () => {
    await server?.close();
    await store.close();
    cleanup();
  });

  /** An admin listener whose wear window reads `written` and `payload`, on a clock at `clock.now`. */
  async function serve(read: () => number | undefined, payload: () => number, clock: { now: number }): Promise<string> {
    const readiness = new Readiness();
    const wear = new WearWindow(read, payload, () => clock.now);
    server = await startAdminServer(
      { host: '127.0.0.1', port: 0 },
      { registry: createMetrics(store, '0.0.0-test', wear), readiness, logger: silentLogger, status: () => statusSnapshot(store, readiness, '0.0.0-test', new Map(), { window: wear, enduranceTbw: 2 }) },
    );
    return `http://127.0.0.1:${server.address.port}`;
  }

  it('counts bytes written, their ratio to payload bytes since start, and the rate over the window', async () => {
    const clock = { now: 1_000_000 };
    let written = 4_000_000;
    let payload = 0;
    const base = await serve(() => written, () => payload, clock);
    let metrics = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
    expect(metrics.get('weir_storage_write_bytes_total')).toBe(4_000_000);
    expect(metrics.get('weir_storage_write_bytes_per_payload_byte')).toBeNaN(); // nothing appended yet
    // 30 minutes later: 90 MB more written (50 kB/s), 9 MB of payload.
    clock.now += 1_800_000;
    written += 90_000_000;
    payload = 9_000_000;
    metrics = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
    expect(metrics.get('weir_storage_write_bytes_total')).toBe(94_000_000);
    expect(metrics.get('weir_storage_write_bytes_per_payload_byte')).toBeCloseTo(94 / 9);
    expect(metrics.get('weir_storage_write_rate_bytes_per_second')).toBe(50_000);
    expect(metrics.get('weir_storage_write_rate_window_seconds')).toBe(1800);
    const wear = ((await (await fetch(`${base}/api/status`)).json()) as StatusSnapshot).wear;
    expect(wear).toEqual({
      writeBytes: 94_000_000,
      payloadBytes: 9_000_000,
      windowSeconds: 1800,
      writeBytesPerSecond: 50_000,
      bytesPerPayloadByte: 10,
      enduranceTbw: 2,
      yearsToEndurance: 2e12 / (50_000 * 365.25 * 86_400),
    });
  });

  it('has no storage-write series where /proc/self/io cannot be read, rather than a made-up 0', async () => {
    const base = await serve(() => undefined, () => store.stats().payloadBytesAppended, { now: 0 });
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).not.toMatch(/weir_storage_/);
    expect(text).toMatch(/^weir_store_payload_bytes_appended_total 0$/m);
    expect(((await (await fetch(`${base}/api/status`)).json()) as StatusSnapshot).wear).toBeNull();
  });
});
