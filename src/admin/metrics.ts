/**
 * The Prometheus registry behind `/metrics`. The store's figures are read at scrape time (no
 * timers, nothing kept between scrapes but the counters' last values); other components (MQTT,
 * the Kafka listener, the mirror) register their own metrics into the same registry.
 *
 * The storage write rate is the one figure kept over time: by the wear window's one-minute samples
 * (./wear-window.ts).
 *
 * Names follow Prometheus conventions: `_total` counters, `_bytes` units, labels for topic and
 * partition, up to a number of partitions (see the weir_topics collector). Process metrics (RSS, heap, event-loop lag, open fds) come from prom-client's
 * default collectors.
 */
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { MemoryGuard } from '../memory-guard.js';
import type { GroupOffsetStore, RecordLog, StoreMonitor, TopicAdmin } from '../store/types.js';
import { registerCompactionMetrics } from './compaction-metrics.js';
import { mirroredTotal } from './mirrored-counter.js';
import type { WearFigures, WearWindow } from './wear-window.js';

/**
 * `maxPartitionSeries` is `admin.metrics_max_partition_series`: how many partitions (and group
 * lag entries) get series of their own; no cap when absent.
 */
export function createMetrics(store: TopicAdmin & RecordLog & GroupOffsetStore & StoreMonitor, version: string, wear: WearWindow, maxPartitionSeries = Infinity): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  new Gauge({ name: 'weir_build_info', help: 'Weir version (value is always 1)', labelNames: ['version'], registers: [registry] }).set({ version }, 1);
  registerStoreMetrics(registry, store);
  // Storage writes exist only where /proc/self/io can be read (Linux): elsewhere these series are
  // absent rather than a made-up 0.
  if (wear.figures() !== undefined) registerWearMetrics(registry, wear);
  registerPartitionMetrics(registry, store, maxPartitionSeries);
  registerCompactionMetrics(registry, store, maxPartitionSeries);
  return registry;
}

/** A gauge without labels set at each scrape to what `read` gives (undefined: left as it was). */
function scrapedGauge(registry: Registry, name: string, help: string, read: () => number | undefined): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      const value = read();
      if (value !== undefined) this.set(value);
    },
  });
}

/** A table of the store's totals, one metric each: read as a list. */
function registerStoreMetrics(registry: Registry, store: StoreMonitor): void {
  const stats = () => store.stats();
  const gauge = (name: string, help: string, read: () => number) => scrapedGauge(registry, name, help, read);
  gauge('weir_store_used_bytes', 'Bytes of record batches stored, all topics', () => stats().usedBytes);
  gauge('weir_store_disk_budget_bytes', 'The disk budget in force (store.disk_budget_bytes)', () => stats().diskBudgetBytes);
  gauge('weir_store_disk_budget_headroom_bytes', 'Budget minus bytes stored; at or below 0 the overflow policies apply', () => stats().diskBudgetBytes - stats().usedBytes);
  gauge('weir_store_write_queue_records', 'Records waiting for or in a group commit', () => stats().queuedRecords);
  gauge('weir_store_write_queue_bytes', 'Bytes waiting for or in a group commit', () => stats().queuedBytes);
  gauge('weir_store_storage_failed', '1 once LMDB refused a write (disk full, I/O error): free space and restart', () => (stats().storageFailure === undefined ? 0 : 1));
  mirroredTotal(registry, 'weir_store_commits_total', 'Group commits (LMDB write transactions) issued', () => stats().commits);
  mirroredTotal(registry, 'weir_store_records_appended_total', 'Records appended and flushed to disk', () => stats().recordsAppended);
  mirroredTotal(registry, 'weir_store_bytes_appended_total', 'Record-batch bytes appended and flushed to disk', () => stats().bytesAppended);
  mirroredTotal(registry, 'weir_store_records_dropped_total', 'Records deleted before every cursor had passed them (overflow policy drop-oldest)', () => stats().recordsDropped);
  mirroredTotal(registry, 'weir_store_payload_bytes_appended_total', 'Payload bytes appended and flushed to disk: keys and values of records Weir batched (MQTT), whole record sets of Kafka produce', () => stats().payloadBytesAppended);
}

/** Storage writes and flash wear, from the wear window's samples. */
function registerWearMetrics(registry: Registry, wear: WearWindow): void {
  mirroredTotal(
    registry,
    'weir_storage_write_bytes_total',
    'Bytes this process caused to be written to storage (/proc/self/io write_bytes: LMDB pages and syncs, and anything else it writes); absent where /proc/self/io cannot be read',
    () => wear.figures()?.writeBytes,
  );
  const wearGauge = (name: string, help: string, read: (f: WearFigures) => number) =>
    scrapedGauge(registry, name, help, () => {
      const f = wear.figures();
      return f === undefined ? undefined : read(f);
    });
  wearGauge(
    'weir_storage_write_bytes_per_payload_byte',
    'Bytes written to storage per payload byte appended, since start (flash wear per byte of data; lower is better); NaN until a payload byte is appended',
    (f) => (f.payloadBytes > 0 ? f.writeBytes / f.payloadBytes : Number.NaN),
  );
  wearGauge(
    'weir_storage_write_rate_bytes_per_second',
    'Bytes written to storage per second over the last weir_storage_write_rate_window_seconds (the last hour once Weir has run that long)',
    (f) => f.writeBytesPerSecond,
  );
  wearGauge('weir_storage_write_rate_window_seconds', 'Seconds that weir_storage_write_rate_bytes_per_second covers: since start, at most an hour (one-minute samples)', (f) => f.windowSeconds);
}

interface PartitionSeries {
  partitions: Gauge;
  omitted: Gauge;
  logEnd: Gauge;
  logStart: Gauge;
  size: Gauge;
  lag: Gauge;
}

/**
 * One collector, registered before the per-partition gauges (collection runs in registration
 * order), refreshes all their series at each scrape, so deleted topics disappear. Partitions
 * past `maxPartitionSeries` (in topic-name order) get no series of their own: their figures are
 * summed into one series labelled topic="*", partition="*" (no topic name has a '*'), so a
 * thousand partitions cost three series, not three thousand. Group lag likewise.
 */
function registerPartitionMetrics(registry: Registry, store: TopicAdmin & RecordLog & GroupOffsetStore, maxPartitionSeries: number): void {
  new Gauge({
    name: 'weir_topics',
    help: 'Topics in the store',
    registers: [registry],
    collect() {
      for (const g of [series.logEnd, series.logStart, series.size, series.lag]) g.reset();
      const topics = store.listTopics();
      this.set(topics.length);
      setPartitionSeries(store, topics, series, maxPartitionSeries);
      setGroupLag(store, series.lag, maxPartitionSeries);
    },
  });
  const partitionGauge = (name: string, help: string) =>
    new Gauge({ name, help, labelNames: ['topic', 'partition'], registers: [registry] });
  const series: PartitionSeries = {
    partitions: new Gauge({ name: 'weir_partitions', help: 'Partitions in the store, all topics', registers: [registry] }),
    omitted: new Gauge({
      name: 'weir_partition_series_omitted',
      help: 'Partitions past admin.metrics_max_partition_series: they have no weir_partition_* series of their own, their figures are summed into the series with topic="*", partition="*"',
      registers: [registry],
    }),
    logEnd: partitionGauge('weir_partition_log_end_offset', 'High watermark: one past the last durable offset'),
    logStart: partitionGauge('weir_partition_log_start_offset', 'First offset still stored'),
    size: partitionGauge('weir_partition_size_bytes', 'Bytes stored for the partition'),
    lag: new Gauge({
      name: 'weir_consumer_group_lag',
      help: "Log end offset minus the group's committed offset",
      labelNames: ['group', 'topic', 'partition'],
      registers: [registry],
    }),
  };
}

/** Each partition's offsets and size, the first `max` on series of their own and the rest summed. */
function setPartitionSeries(store: TopicAdmin, topics: readonly string[], series: PartitionSeries, max: number): void {
  let exported = 0;
  const rest = { logEnd: 0, logStart: 0, size: 0, partitions: 0 };
  for (const topic of topics) {
    for (const p of store.describeTopic(topic).partitions) {
      if (exported < max) {
        exported++;
        const labels = { topic, partition: String(p.partition) };
        series.logEnd.set(labels, p.highWatermark);
        series.logStart.set(labels, p.logStartOffset);
        series.size.set(labels, p.sizeBytes);
        continue;
      }
      rest.logEnd += p.highWatermark;
      rest.logStart += p.logStartOffset;
      rest.size += p.sizeBytes;
      rest.partitions++;
    }
  }
  series.partitions.set(exported + rest.partitions);
  series.omitted.set(rest.partitions);
  if (rest.partitions > 0) {
    const labels = { topic: '*', partition: '*' };
    series.logEnd.set(labels, rest.logEnd);
    series.logStart.set(labels, rest.logStart);
    series.size.set(labels, rest.size);
  }
}

/** Each group's lag per partition of a topic that still exists, the first `max` on series of their own and the rest summed. */
function setGroupLag(store: TopicAdmin & RecordLog & GroupOffsetStore, lag: Gauge, max: number): void {
  let lagSeries = 0;
  let restLag: number | undefined;
  for (const group of store.listGroupsWithOffsets()) {
    for (const o of store.fetchGroupOffsets(group)) {
      if (!store.hasTopic(o.topic)) continue;
      const value = Math.max(0, store.offsets(o.topic, o.partition).highWatermark - o.offset);
      if (lagSeries < max) {
        lagSeries++;
        lag.set({ group, topic: o.topic, partition: String(o.partition) }, value);
      } else {
        restLag = (restLag ?? 0) + value;
      }
    }
  }
  if (restLag !== undefined) lag.set({ group: '*', topic: '*', partition: '*' }, restLag);
}

/** The memory guard's figures (src/memory-guard.ts). */
export function registerMemoryGuardMetrics(registry: Registry, guard: MemoryGuard): void {
  const gauge = (name: string, help: string, read: () => number | undefined) => scrapedGauge(registry, name, help, read);
  gauge('weir_memory_pressure', '1 while RssAnon is over 90% of device.memory_high_bytes (until under 80%): client sockets are not read, new connections are refused', () => (guard.isPressed() ? 1 : 0));
  gauge('weir_memory_rss_anon_bytes', "The process's anonymous resident memory (RssAnon) at the memory guard's last sample", () => guard.figures().rssAnonBytes);
  gauge('weir_memory_high_bytes', 'device.memory_high_bytes as resolved (the unit\'s MemoryHigh=)', () => guard.figures().memoryHighBytes);
  mirroredTotal(registry, 'weir_memory_connections_refused_total', 'MQTT and Kafka connections refused under memory pressure', () => guard.figures().refused);
}
