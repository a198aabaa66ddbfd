/**
 * Applies retention (retention.ts plans it): segments past `retention.ms` or `retention.bytes` or
 * wholly before the log start offset, then, while the store is over its disk budget, the oldest
 * segments the overflow policies allow. Never what a cursor has not passed, unless the topic's
 * policy is drop-oldest; every record dropped so is logged and reported (`onDrop`). One run at a
 * time, on a timer and whenever the store asks (a commit passed the budget, an append waits).
 */
import type { Logger } from '../logger.js';
import type { StoreCounters } from './counters.js';
import type { HousekeepingLock } from './housekeeping.js';
import { durable, type LmdbEnv } from './lmdb-env.js';
import { PeriodicJob } from './periodic-job.js';
import type { PartitionState } from './partition.js';
import { deleteSegments, planBudget, planRetention, type BudgetCandidate, type PartitionRetentionInput, type SegmentDeletion } from './retention.js';
import type { TopicRegistry } from './topics.js';
import type { CursorPosition, DropEvent, RetentionReport } from './types.js';

export interface RetentionContext {
  env: LmdbEnv;
  topics: TopicRegistry;
  counters: StoreCounters;
  log: Logger;
  /** Shared with the log cleaner: a run and a compaction chunk never rewrite segments at once. */
  lock: HousekeepingLock;
  diskBudgetBytes: number;
  cursors(): CursorPosition[];
  onDrop: ((event: DropEvent) => void) | undefined;
  /** A run finished; `deleted` when it deleted segments (appends waiting for room may proceed). */
  afterRun(deleted: boolean): void;
  isClosing(): boolean;
}

export class RetentionRunner {
  private readonly job: PeriodicJob<RetentionReport>;

  /** `intervalMs` 0: no timer (tests run retention themselves). */
  constructor(
    private readonly ctx: RetentionContext,
    intervalMs: number,
  ) {
    this.job = new PeriodicJob((now) => ctx.lock.run(() => this.retain(now)), intervalMs, ctx.isClosing, ctx.log, 'retention');
  }

  /** Starts a run unless one is under way or the store is closing. */
  request(): void {
    this.job.request();
  }

  /** Runs retention now, or joins the run under way. */
  run(now = Date.now()): Promise<RetentionReport> {
    return this.job.run(now);
  }

  /** Resolves once no run is under way, however it ended. */
  settled(): Promise<void> {
    return this.job.settled();
  }

  stop(): void {
    this.job.stop();
  }

  /** Kafka's DeleteRecords: moves the log start offset to `target`, deleting the segments wholly before it. */
  moveLogStart(p: PartitionState, target: number): Promise<void> {
    return this.ctx.lock.run(() => this.moveLogStartNow(p, target));
  }

  private async moveLogStartNow(p: PartitionState, target: number): Promise<void> {
    p.logStartOffset = target;
    const deletions = planRetention(this.input(p, Date.now())).filter((d) => d.reason === 'log-start-offset');
    if (deletions.length > 0) {
      this.ctx.counters.usedBytes -= deletions.reduce((sum, d) => sum + d.segment.bytes, 0);
      await deleteSegments(this.ctx.env, p, deletions);
    } else {
      const record = { topic: p.topic, partition: p.partition, nextOffset: p.highWatermark, logStartOffset: p.logStartOffset };
      await durable(this.ctx.env.partitions.put(p.id, record));
    }
  }

  private async retain(now: number): Promise<RetentionReport> {
    const { topics, counters, log } = this.ctx;
    const report: RetentionReport = { segmentsDeleted: 0, bytesDeleted: 0, recordsDropped: 0 };
    const minCursors = this.minCursors();
    const all = topics.allPartitions();
    for (const p of all) await this.apply(p, planRetention(this.input(p, now, minCursors.get(p.id))), report);
    const excess = counters.usedBytes - this.ctx.diskBudgetBytes;
    if (excess > 0) {
      const candidates: BudgetCandidate[] = all
        .filter((p) => topics.has(p.topic))
        .map((p) => ({ partition: p, config: topics.config(p.topic), minCursor: minCursors.get(p.id) ?? Infinity }));
      for (const [p, deletions] of planBudget(candidates, excess)) await this.apply(p, deletions, report);
    }
    if (report.segmentsDeleted > 0) log.info(report, 'retention deleted segments');
    this.ctx.afterRun(report.segmentsDeleted > 0);
    return report;
  }

  private async apply(p: PartitionState, deletions: SegmentDeletion[], report: RetentionReport): Promise<void> {
    if (deletions.length === 0) return;
    const { counters, log } = this.ctx;
    for (const d of deletions) {
      report.segmentsDeleted++;
      report.bytesDeleted += d.segment.bytes;
      counters.usedBytes -= d.segment.bytes;
      const dropped = Math.max(0, d.droppedTo - d.droppedFrom);
      if (dropped > 0 && d.reason !== 'log-start-offset') {
        report.recordsDropped += dropped;
        counters.recordsDropped += dropped;
        const event = { topic: p.topic, partition: p.partition, fromOffset: d.droppedFrom, toOffset: d.droppedTo, reason: d.reason };
        log.warn(event, 'records dropped before every cursor passed them (weir.overflow.policy=drop-oldest)');
        this.ctx.onDrop?.(event);
      }
    }
    await deleteSegments(this.ctx.env, p, deletions);
  }

  /** Per partition id, the lowest offset a cursor over it has reached. */
  private minCursors(): Map<number, number> {
    const { topics } = this.ctx;
    const min = new Map<number, number>();
    for (const c of this.ctx.cursors()) {
      if (!topics.has(c.topic)) continue;
      const p = topics.partitionsOf(c.topic)[c.partition];
      if (p !== undefined) min.set(p.id, Math.min(min.get(p.id) ?? Infinity, c.offset));
    }
    return min;
  }

  private input(p: PartitionState, now: number, minCursor = Infinity): PartitionRetentionInput {
    return {
      segments: p.segments,
      sizeBytes: p.sizeBytes,
      highWatermark: p.highWatermark,
      logStartOffset: p.logStartOffset,
      config: this.ctx.topics.config(p.topic),
      minCursor,
      now,
    };
  }
}
