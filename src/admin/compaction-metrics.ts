/**
 * The log cleaner's series on `/metrics`, per partition of a compacted topic (what `weir topics
 * describe` shows): dirty ratio, last compaction, bytes reclaimed, behind. Read from the store at
 * scrape time. The partition cap (`admin.metrics_max_partition_series`) applies as to the
 * `weir_partition_*` series: past it, partitions are folded into one series labelled topic="*",
 * partition="*" holding the largest dirty ratio, the oldest last compaction, the bytes reclaimed
 * summed and the number of partitions behind.
 */
import { Gauge, type Registry } from 'prom-client';
import type { TopicAdmin } from '../store/types.js';
import { mirroredCounter } from './mirrored-counter.js';

/** A series' values: a partition's status, `behind` as 0 or 1 (or, folded, a count). */
interface SeriesValues {
  dirtyRatio: number;
  lastCompactedAt: number | null;
  bytesReclaimed: number;
  behind: number;
}

interface CompactedPartition {
  labels: { topic: string; partition: string };
  status: SeriesValues;
}

/** Compacted partitions in topic-name order, the first `max` as they are and the rest folded into one. */
function compactedPartitions(store: TopicAdmin, max: number): CompactedPartition[] {
  const own: CompactedPartition[] = [];
  let rest: SeriesValues | undefined;
  for (const topic of store.listTopics()) {
    for (const p of store.describeTopic(topic).partitions) {
      if (p.compaction === undefined) continue;
      const status = { ...p.compaction, behind: Number(p.compaction.behind) };
      if (own.length < max) {
        own.push({ labels: { topic, partition: String(p.partition) }, status });
        continue;
      }
      rest = fold(rest, status);
    }
  }
  if (rest !== undefined) own.push({ labels: { topic: '*', partition: '*' }, status: rest });
  return own;
}

function fold(into: SeriesValues | undefined, s: SeriesValues): SeriesValues {
  if (into === undefined) return s;
  const last = into.lastCompactedAt === null || s.lastCompactedAt === null ? null : Math.min(into.lastCompactedAt, s.lastCompactedAt);
  return { dirtyRatio: Math.max(into.dirtyRatio, s.dirtyRatio), lastCompactedAt: last, bytesReclaimed: into.bytesReclaimed + s.bytesReclaimed, behind: into.behind + s.behind };
}

export function registerCompactionMetrics(registry: Registry, store: TopicAdmin, maxPartitionSeries = Infinity): void {
  let scraped: CompactedPartition[] = [];
  const labelNames = ['topic', 'partition'];
  // Registered first: its collect reads the store once for the three gauges and the counter after it.
  const dirty = new Gauge({
    name: 'weir_log_compaction_dirty_ratio',
    help: 'Compacted topics: bytes not yet compacted over all bytes of the closed segments the log cleaner may compact now (0 to 1); past admin.metrics_max_partition_series, the largest',
    labelNames,
    registers: [registry],
    collect() {
      scraped = compactedPartitions(store, maxPartitionSeries);
      for (const g of [dirty, lastRun, behind]) g.reset();
      for (const { labels, status } of scraped) {
        dirty.set(labels, status.dirtyRatio);
        if (status.lastCompactedAt !== null) lastRun.set(labels, status.lastCompactedAt / 1000);
        behind.set(labels, status.behind);
      }
    },
  });
  const lastRun = new Gauge({
    name: 'weir_log_compaction_last_run_timestamp_seconds',
    help: 'Compacted topics: when the last compaction pass over the partition ended (Unix seconds; no series before the first); past the cap, the oldest',
    labelNames,
    registers: [registry],
  });
  const behind = new Gauge({
    name: 'weir_log_compaction_behind',
    help: 'Compacted topics: 1 while the log cleaner is behind on the partition (its last pass could not map every dirty key in store.compaction_buffer_bytes, or the oldest dirty record is past max.compaction.lag.ms); past the cap, how many are',
    labelNames,
    registers: [registry],
  });
  mirroredCounter(
    registry,
    'weir_log_compaction_bytes_reclaimed_total',
    'Compacted topics: record-batch bytes the log cleaner removed from the partition',
    () => Object.fromEntries(scraped.map(({ labels, status }) => [`${labels.topic}\0${labels.partition}`, status.bytesReclaimed])),
    labelNames,
  );
}
