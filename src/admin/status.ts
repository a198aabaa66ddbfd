/**
 * The JSON behind the status page (`/api/status`): what a person at the gateway wants at a
 * glance. statusSnapshot() reads the counters; StatusRates (./status-rates.ts) fills in the rates
 * from its recent samples, and the storage write rate comes from an hour of them (./wear-window.ts).
 */
import type { GroupOffsetStore, RecordLog, StoreMonitor, TopicAdmin, TopicDescription } from '../store/types.js';
import { yearsToEndurance } from './flash-wear.js';
import type { Readiness } from './readiness.js';
import type { WearWindow } from './wear-window.js';

export interface StatusSnapshot {
  version: string;
  now: number;
  uptimeSeconds: number;
  /** Seconds the rates below cover; null until StatusRates has an earlier sample. */
  rateSeconds: number | null;
  ready: boolean;
  components: Record<string, string>;
  store: {
    usedBytes: number;
    diskBudgetBytes: number;
    headroomBytes: number;
    queuedRecords: number;
    recordsAppended: number;
    /** Records appended per second, all topics; null without an earlier sample. */
    appendedPerSecond: number | null;
    recordsDropped: number;
    storageFailure: string | null;
  };
  topics: {
    name: string;
    partitions: number;
    logEndOffset: number;
    /** Records appended per second; null without an earlier sample that had this topic. */
    recordsPerSecond: number | null;
    records: number;
    sizeBytes: number;
    overflowPolicy: string;
  }[];
  groups: { group: string; lag: number; partitions: number }[];
  /** Flash wear; null where /proc/self/io cannot be read (not Linux). `weir doctor` reads it too. */
  wear: WearStatus | null;
  /** Sections other components add (MQTT clients, Kafka clients, mirror state), in the order added. */
  sections: StatusSectionView[];
}

export interface WearStatus {
  /** Bytes written to storage since start, and payload bytes appended. */
  writeBytes: number;
  payloadBytes: number;
  /** Seconds the rate and ratio below cover: since start, at most the last hour. */
  windowSeconds: number;
  writeBytesPerSecond: number;
  /** Bytes written per payload byte over the window; null when no payload was appended in it. */
  bytesPerPayloadByte: number | null;
  /** device.flash_endurance_tbw */
  enduranceTbw: number;
  /** Years until enduranceTbw is written at this rate; null when nothing is being written. */
  yearsToEndurance: number | null;
}

/**
 * What a component shows on the status page: a titled block of cards and/or one table. The page
 * draws it without knowing the component; a card with `rate` is a counter the page shows as a
 * per-second rate (`perSecond`, filled in by StatusRates from earlier samples matched by `id`).
 */
export interface StatusSectionView {
  id: string;
  title: string;
  /** A one-line state shown next to the title, e.g. "connected" or "down since 12:03". */
  state?: { text: string; level: 'ok' | 'warn' | 'bad' };
  cards?: StatusCard[];
  /** A column's `unit` says how the page prints its numbers: a count (default) or bytes. */
  table?: { columns: { label: string; numeric?: boolean; unit?: 'count' | 'bytes' }[]; rows: (string | number)[][]; empty?: string };
}

export interface StatusCard {
  id: string;
  label: string;
  value: number | string;
  /**
   * A monotonically growing counter shown as its rate instead of its value, in this unit (the
   * page puts it on the label; B/s values are scaled to KiB/s, MiB/s).
   */
  rate?: 'msg/s' | 'records/s' | 'requests/s' | 'B/s';
  /** The rate of a `rate` card over the snapshot's rateSeconds; null until there is an earlier sample. */
  perSecond?: number | null;
  /** How to print the value of a card without `rate`: a count (default) or bytes. */
  unit?: 'count' | 'bytes';
}

export type StatusSection = () => StatusSectionView;

/** Lines of the log compaction section; the rest are counted in a last one. */
const COMPACTION_ROWS = 50;

/**
 * The "Log compaction" section: one line per partition of a compacted topic, with what `weir
 * topics describe` and `/metrics` show of the log cleaner. Absent when no topic compacts.
 */
function compactionStatusSection(topics: readonly TopicDescription[]): StatusSectionView | undefined {
  const rows: (string | number)[][] = [];
  let more = 0;
  let behind = 0;
  for (const t of topics) {
    for (const p of t.partitions) {
      const c = p.compaction;
      if (c === undefined) continue;
      if (c.behind) behind++;
      if (rows.length === COMPACTION_ROWS) {
        more++;
        continue;
      }
      const last = c.lastCompactedAt === null ? 'never' : new Date(c.lastCompactedAt).toISOString().replace('T', ' ').slice(0, 19);
      rows.push([`${t.name}-${p.partition}`, `${(c.dirtyRatio * 100).toFixed(0)} %`, last, c.bytesReclaimed, c.behind ? 'yes' : 'no']);
    }
  }
  if (rows.length === 0) return undefined;
  if (more > 0) rows.push([`… and ${more} more partitions`, '', '', '', '']);
  return {
    id: 'compaction',
    title: 'Log compaction',
    state: behind > 0 ? { text: `${behind} behind`, level: 'warn' } : { text: 'keeping up', level: 'ok' },
    table: {
      columns: [{ label: 'partition' }, { label: 'dirty', numeric: true }, { label: 'last compacted (UTC)' }, { label: 'reclaimed', numeric: true, unit: 'bytes' }, { label: 'behind' }],
      rows,
    },
  };
}

function wearStatus(wear: WearWindow, enduranceTbw: number): WearStatus | null {
  const f = wear.figures();
  if (f === undefined) return null;
  const years = yearsToEndurance(f.writeBytesPerSecond, enduranceTbw);
  return {
    writeBytes: f.writeBytes,
    payloadBytes: f.payloadBytes,
    windowSeconds: f.windowSeconds,
    writeBytesPerSecond: f.writeBytesPerSecond,
    bytesPerPayloadByte: f.windowBytesPerPayloadByte,
    enduranceTbw,
    yearsToEndurance: Number.isFinite(years) ? years : null,
  };
}

export function statusSnapshot(
  store: TopicAdmin & RecordLog & GroupOffsetStore & StoreMonitor,
  readiness: Readiness,
  version: string,
  sections: Map<string, StatusSection>,
  wear: { window: WearWindow; enduranceTbw: number },
): StatusSnapshot {
  const stats = store.stats();
  const report = readiness.report();
  const descriptions: TopicDescription[] = [];
  const topics = store.listTopics().map((name) => {
    const d = store.describeTopic(name);
    descriptions.push(d);
    let logEndOffset = 0;
    let records = 0;
    let sizeBytes = 0;
    for (const p of d.partitions) {
      logEndOffset += p.highWatermark;
      records += p.highWatermark - p.logStartOffset;
      sizeBytes += p.sizeBytes;
    }
    return { name, partitions: d.partitions.length, logEndOffset, recordsPerSecond: null, records, sizeBytes, overflowPolicy: d.config['weir.overflow.policy'] };
  });
  const groups = store.listGroupsWithOffsets().map((group) => {
    let lag = 0;
    let partitions = 0;
    for (const o of store.fetchGroupOffsets(group)) {
      if (!store.hasTopic(o.topic)) continue;
      partitions++;
      lag += Math.max(0, store.offsets(o.topic, o.partition).highWatermark - o.offset);
    }
    return { group, lag, partitions };
  });
  const extra = [...sections.values()].map((read) => read());
  const compaction = compactionStatusSection(descriptions);
  if (compaction !== undefined) extra.push(compaction);
  return {
    version,
    now: Date.now(),
    uptimeSeconds: Math.round(process.uptime()),
    rateSeconds: null,
    ready: report.ready,
    components: report.checks,
    store: {
      usedBytes: stats.usedBytes,
      diskBudgetBytes: stats.diskBudgetBytes,
      headroomBytes: stats.diskBudgetBytes - stats.usedBytes,
      queuedRecords: stats.queuedRecords,
      recordsAppended: stats.recordsAppended,
      appendedPerSecond: null,
      recordsDropped: stats.recordsDropped,
      storageFailure: stats.storageFailure ?? null,
    },
    topics,
    groups,
    wear: wearStatus(wear.window, wear.enduranceTbw),
    sections: extra,
  };
}
