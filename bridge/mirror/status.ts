/**
 * The mirror's figures, computed from live state when asked: `GET /api/mirror` (which
 * `weir mirror status` prints), the Prometheus metrics and the status-page section all read the
 * same snapshot, so they cannot disagree.
 */
import { Gauge, type Registry } from 'prom-client';
import type { StatusSectionView } from '../../src/admin/status.js';
import { batchEnd, decodeRecordBatch } from '../../src/kafka/protocol/record-batch.js';
import type { RecordLog, TopicAdmin } from '../../src/store/types.js';
import type { RuleMirror } from './rule.js';

export interface PartitionStatus {
  topic: string;
  partition: number;
  upstreamTopic: string;
  /** Every offset below this one was acknowledged by the upstream. */
  cursor: number;
  logStartOffset: number;
  logEndOffset: number;
  /**
   * Offsets from the cursor to the last stable offset: what the mirror may send and the upstream
   * has not acknowledged. An open transaction's records (from the last stable offset to the log
   * end) are not counted: the mirror holds them until the transaction ends, by design.
   */
  lagRecords: number;
  /** Stored bytes not yet mirrored (estimated from the partition's bytes per record). */
  lagBytes: number;
  /** Age of the oldest record not yet acknowledged upstream (ms), or null when there is none. */
  oldestUnsentAgeMs: number | null;
  inFlight: number;
  /** Records retention deleted before they were sent (drop-oldest), since start. */
  dropped: number;
  /** Records sent again after a rewind or reconnect, since start (an upper bound on duplicates). */
  resent: number;
}

export interface RuleStatus {
  name: string;
  upstream: string;
  bootstrapServers: readonly string[];
  connected: boolean;
  /** When the current connected / disconnected state began (ms since the epoch). */
  since: number;
  lastError: { at: number; message: string } | null;
  /** Why on_refused: stop stopped this rule (or, exactly-once, another gateway fenced it), or null while it runs. */
  stopped: string | null;
  delivery: 'at-least-once' | 'exactly-once';
  /** The Kafka client that sends: Weir's own producer or librdkafka. */
  client: 'weir' | 'librdkafka';
  /** Transactions committed since start (exactly-once), or null (at-least-once). */
  transactions: number | null;
  inFlight: number;
  sent: number;
  acked: number;
  ackedBytes: number;
  refused: number;
  deadLettered: number;
  partitions: PartitionStatus[];
}

export interface MirrorStatus {
  deviceId: string;
  now: number;
  rules: RuleStatus[];
}

/** Stored batches looked at for the oldest unsent record, at most (one read each). */
const OLDEST_UNSENT_BATCHES = 16;

/**
 * The age of the first record at or past `from`. After compaction the batch holding `from` may
 * have none left there (kept with no record, or thinned out): the next batches are looked at, up
 * to OLDEST_UNSENT_BATCHES.
 */
function oldestUnsentAge(store: TopicAdmin & RecordLog, topic: string, partition: number, from: number, now: number): number | null {
  for (let at = from, batches = 0; batches < OLDEST_UNSENT_BATCHES; batches++) {
    const [batch] = store.read(topic, partition, at, 1, 'read_committed').batches;
    if (batch === undefined) return null;
    const { header, records } = decodeRecordBatch(batch);
    // A transaction marker's record is never sent: it is not waiting.
    const r = header.isControl ? undefined : records.find((x) => x.offset >= from);
    if (r !== undefined) return Math.max(0, now - r.timestamp);
    at = batchEnd(header);
  }
  return null;
}

export function mirrorStatus(deviceId: string, rules: readonly RuleMirror[], store: TopicAdmin & RecordLog): MirrorStatus {
  const now = Date.now();
  return {
    deviceId,
    now,
    rules: rules.map((rule) => ({
      name: rule.spec.name,
      upstream: rule.upstream.name,
      bootstrapServers: rule.upstream.bootstrapServers,
      connected: rule.connected,
      since: rule.since,
      lastError: rule.lastError ?? null,
      stopped: rule.stoppedBy ?? null,
      delivery: rule.spec.delivery,
      client: rule.spec.client,
      transactions: rule.exactlyOnce?.committedTransactions ?? null,
      inFlight: rule.inFlightRecords,
      sent: rule.counters.sent,
      acked: rule.counters.acked,
      ackedBytes: rule.counters.ackedBytes,
      refused: rule.counters.refused,
      deadLettered: rule.counters.deadLettered,
      partitions: rule.partitions.flatMap((pm) => {
        if (!store.hasTopic(pm.topic)) return [];
        const info = store.describeTopic(pm.topic).partitions.find((p) => p.partition === pm.partition);
        if (info === undefined) return [];
        const from = Math.max(pm.cursor, info.logStartOffset);
        const lagRecords = Math.max(0, store.offsets(pm.topic, pm.partition).lastStableOffset - from);
        const stored = info.highWatermark - info.logStartOffset;
        const lagBytes = stored > 0 ? Math.round((info.sizeBytes * lagRecords) / stored) : 0;
        return [
          {
            topic: pm.topic,
            partition: pm.partition,
            upstreamTopic: pm.upstreamTopic,
            cursor: pm.cursor,
            logStartOffset: info.logStartOffset,
            logEndOffset: info.highWatermark,
            lagRecords,
            lagBytes,
            oldestUnsentAgeMs: lagRecords > 0 ? oldestUnsentAge(store, pm.topic, pm.partition, from, now) : null,
            inFlight: pm.inFlight,
            dropped: pm.dropped,
            resent: pm.resent,
          },
        ];
      }),
    })),
  };
}

/** The same figures as Prometheus metrics, read at scrape time. */
export function registerMirrorMetrics(registry: Registry, read: () => MirrorStatus): void {
  let snapshot: MirrorStatus | undefined;
  // The first collector takes one snapshot per scrape; the others read it.
  const take = (): MirrorStatus => (snapshot = read());
  const partitionGauge = (name: string, help: string, pick: (p: PartitionStatus) => number | null, first = false) =>
    new Gauge({
      name,
      help,
      labelNames: ['rule', 'topic', 'partition'],
      registers: [registry],
      collect() {
        const s = first || snapshot === undefined ? take() : snapshot;
        this.reset();
        for (const r of s.rules) {
          for (const p of r.partitions) {
            const v = pick(p);
            if (v !== null) this.set({ rule: r.name, topic: p.topic, partition: String(p.partition) }, v);
          }
        }
      },
    });
  partitionGauge('weir_mirror_lag_records', 'Records stored and not yet acknowledged by the upstream, up to the last stable offset (an open transaction held back is not lag)', (p) => p.lagRecords, true);
  partitionGauge('weir_mirror_cursor_offset', 'Mirror cursor: every offset below it was acknowledged upstream', (p) => p.cursor);
  partitionGauge('weir_mirror_log_end_offset', 'Log end offset of the mirrored partition', (p) => p.logEndOffset);
  partitionGauge('weir_mirror_lag_bytes', 'Stored bytes not yet acknowledged upstream (estimate)', (p) => p.lagBytes);
  partitionGauge('weir_mirror_oldest_unsent_age_seconds', 'Age of the oldest record not yet acknowledged upstream', (p) => (p.oldestUnsentAgeMs === null ? 0 : p.oldestUnsentAgeMs / 1000));
  partitionGauge('weir_mirror_dropped_records', 'Records deleted by retention before they were mirrored (drop-oldest), since start', (p) => p.dropped);
  partitionGauge('weir_mirror_resent_records', 'Records sent again after a rewind or reconnect, since start (bound on duplicates)', (p) => p.resent);
  const ruleGauge = (name: string, help: string, pick: (r: RuleStatus) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['rule', 'upstream'],
      registers: [registry],
      collect() {
        const s = snapshot ?? take();
        this.reset();
        for (const r of s.rules) this.set({ rule: r.name, upstream: r.upstream }, pick(r));
      },
    });
  ruleGauge('weir_mirror_connected', '1 while the rule\'s producer reaches its upstream', (r) => (r.connected ? 1 : 0));
  ruleGauge('weir_mirror_state_since_seconds', 'Seconds since the rule connected or lost its upstream', (r) => (Date.now() - r.since) / 1000);
  ruleGauge('weir_mirror_stopped', '1 when on_refused: stop stopped the rule, or another gateway with the same device id fenced an exactly-once rule (see weir mirror status)', (r) => (r.stopped === null ? 0 : 1));
  ruleGauge('weir_mirror_transactions_total', 'Transactions committed upstream since start (delivery: exactly-once; 0 for at-least-once)', (r) => r.transactions ?? 0);
  ruleGauge('weir_mirror_in_flight_records', 'Records sent and not yet acknowledged', (r) => r.inFlight);
  ruleGauge('weir_mirror_acked_records_total', 'Records acknowledged by the upstream since start', (r) => r.acked);
  ruleGauge('weir_mirror_acked_bytes_total', 'Record bytes acknowledged by the upstream since start', (r) => r.ackedBytes);
  ruleGauge('weir_mirror_refused_records_total', 'Records the upstream refused for good since start', (r) => r.refused);
  ruleGauge('weir_mirror_dead_lettered_records_total', 'Refused records written to the dead-letter topic since start', (r) => r.deadLettered);
}

function ago(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

/** The status-page section: one row per mirrored partition. */
export function mirrorStatusSection(s: MirrorStatus): StatusSectionView {
  const down = s.rules.filter((r) => !r.connected || r.stopped !== null);
  const state: StatusSectionView['state'] =
    s.rules.length === 0
      ? { text: 'no rules', level: 'warn' }
      : down.length === 0
        ? { text: 'connected', level: 'ok' }
        : { text: down.map((r) => `${r.name}: ${r.stopped !== null ? 'stopped' : `down for ${ago(s.now - r.since)}`}`).join(', '), level: 'bad' };
  return {
    id: 'mirror',
    title: 'Mirror to central Kafka',
    state,
    cards: [
      { id: 'mirror-acked', label: 'records mirrored', value: s.rules.reduce((n, r) => n + r.acked, 0), rate: 'records/s' },
      { id: 'mirror-lag', label: 'records waiting', value: s.rules.reduce((n, r) => n + r.partitions.reduce((m, p) => m + p.lagRecords, 0), 0) },
      { id: 'mirror-refused', label: 'refused', value: s.rules.reduce((n, r) => n + r.refused, 0) },
    ],
    table: {
      columns: [{ label: 'rule' }, { label: 'partition' }, { label: 'cursor', numeric: true }, { label: 'log end', numeric: true }, { label: 'lag', numeric: true }, { label: 'oldest unsent' }, { label: 'last error' }],
      rows: s.rules.flatMap((r) =>
        r.partitions.map((p) => [r.name, `${p.topic}[${p.partition}] → ${p.upstreamTopic}`, p.cursor, p.logEndOffset, p.lagRecords, p.oldestUnsentAgeMs === null ? '—' : ago(p.oldestUnsentAgeMs), r.lastError?.message ?? '']),
      ),
      empty: 'no mirrored partitions yet',
    },
  };
}
