/**
 * Runs the log cleaner (cleaner.ts) on compacted topics: on a timer
 * (`store.compaction_check_interval_ms`, Kafka's `log.cleaner.backoff.ms`) and when asked
 * (`LogStore.runCompaction`). A run compacts every due partition once (clean-plan.ts), the one
 * whose oldest dirty record is past `max.compaction.lag.ms` first, then by dirty ratio, one
 * partition at a time; one run at a time. It shares the store's housekeeping lock with retention
 * a chunk at a time, so the two never rewrite a partition at once.
 *
 * Low priority by construction: the cleaner gives the event loop back after every slice of
 * reads and every chunk of writes, and while appends wait in the write queue it then pauses four
 * times as long as the slice took, so it takes about a fifth of the main thread from producers.
 *
 * The dedupe map (`store.compaction_buffer_bytes`) is allocated at the first pass and reused:
 * the cleaner's memory is that buffer, whatever the number of keys.
 */
import type { Logger } from '../../logger.js';
import type { StoreCounters } from '../counters.js';
import type { HousekeepingLock } from '../housekeeping.js';
import type { LmdbEnv } from '../lmdb-env.js';
import { PeriodicJob } from '../periodic-job.js';
import type { PartitionState } from '../partition.js';
import { compacts, type TopicConfig } from '../topic-config.js';
import type { TopicRegistry } from '../topics.js';
import type { CompactionReport, CompactionStatus, CompactionTestHooks, StoreOptions } from '../types.js';
import { isDue, pastMaxLag, planCleaning, type CleanPlan } from './clean-plan.js';
import { CHUNK_BYTES, cleanPartition, type CleanerContext } from './cleaner.js';
import { KeyOffsetMap } from './offset-map.js';

/** Bytes and batches read between two yields while mapping. */
const SLICE_BYTES = 256 * 1024;
const SLICE_BATCHES = 2048;
/** A partition whose pass failed is left alone this long (ms). */
const FAILED_BACKOFF_MS = 10 * 60_000;
/** While appends wait, the cleaner rests this many times as long as its last slice of work took. */
const BUSY_REST_FACTOR = 4;

export interface CompactionContext {
  env: LmdbEnv;
  topics: TopicRegistry;
  counters: StoreCounters;
  log: Logger;
  lock: HousekeepingLock;
  /** Appends are waiting for a group commit: the cleaner yields more. */
  appendsWaiting(): boolean;
  isClosing(): boolean;
}

/** The dedupe buffer when the options give none (the config always does). */
const DEFAULT_BUFFER_BYTES = 16 * 1024 * 1024;

export class CompactionRunner {
  private readonly job: PeriodicJob<CompactionReport>;
  private map: KeyOffsetMap | undefined;
  /** Partitions whose last pass could not map every dirty record (the next pass goes on). */
  private readonly unfinished = new Set<number>();
  /** Partitions whose last pass failed, and when (performance.now()): left alone for a while. */
  private readonly failedAt = new Map<number, number>();
  private workStarted = performance.now();
  private readonly bufferBytes: number;
  private readonly testHooks: CompactionTestHooks | undefined;

  /** No `compactionCheckIntervalMs`, or 0: no timer (tests run compaction themselves). */
  constructor(
    private readonly ctx: CompactionContext,
    options: Pick<StoreOptions, 'compactionBufferBytes' | 'compactionCheckIntervalMs' | 'compactionTestHooks'>,
  ) {
    this.bufferBytes = options.compactionBufferBytes ?? DEFAULT_BUFFER_BYTES;
    this.testHooks = options.compactionTestHooks;
    this.job = new PeriodicJob((now) => this.compactAll(now), options.compactionCheckIntervalMs ?? 0, ctx.isClosing, ctx.log, 'log compaction');
  }

  /** Compacts every due partition once, or joins the run under way. */
  run(now = Date.now()): Promise<CompactionReport> {
    return this.job.run(now);
  }

  /** Resolves once no run is under way, however it ended. */
  settled(): Promise<void> {
    return this.job.settled();
  }

  stop(): void {
    this.job.stop();
  }

  /** The partition's compaction status, for a topic whose policy compacts (else undefined). */
  status(p: PartitionState, config: TopicConfig, now = Date.now()): CompactionStatus | undefined {
    if (!compacts(config)) return undefined;
    const record = this.ctx.env.cleaner.get(p.id);
    const plan = this.plan(p, config, now);
    return {
      dirtyRatio: plan.dirtyRatio,
      lastCompactedAt: record?.lastCompactedAt ?? null,
      bytesReclaimed: record?.bytesReclaimed ?? 0,
      // Behind: a dirty record waits past max.compaction.lag.ms, or the last pass could not map
      // every dirty key and what it left is still due. Left below min.cleanable.dirty.ratio, the
      // rest waits for more dirt, as Kafka's cleaner lets it.
      behind: pastMaxLag(plan, config, now) || (this.unfinished.has(p.id) && isDue(plan, config, now)),
    };
  }

  private plan(p: PartitionState, config: TopicConfig, now: number): CleanPlan {
    const firstDirtyOffset = this.ctx.env.cleaner.get(p.id)?.firstDirtyOffset ?? 0;
    return planCleaning({ segments: p.segments, highWatermark: p.highWatermark, lastStableOffset: p.lastStableOffset(), logStartOffset: p.logStartOffset, firstDirtyOffset, config, now });
  }

  /** Due partitions, the most urgent first. */
  private duePartitions(now: number): PartitionState[] {
    const { topics } = this.ctx;
    const due: { p: PartitionState; late: boolean; ratio: number }[] = [];
    // Topic by topic: a store of thousands of delete-policy topics costs one check each, and no
    // garbage, every compaction_check_interval_ms.
    for (const name of topics.names()) {
      const config = topics.config(name);
      if (!compacts(config)) continue;
      for (const p of topics.partitionsOf(name)) {
        const plan = this.plan(p, config, now);
        if (isDue(plan, config, now)) due.push({ p, late: pastMaxLag(plan, config, now), ratio: plan.dirtyRatio });
      }
    }
    due.sort((a, b) => Number(b.late) - Number(a.late) || b.ratio - a.ratio);
    return due.map((d) => d.p);
  }

  private async compactAll(now: number): Promise<CompactionReport> {
    const report: CompactionReport = { partitionsCompacted: 0, recordsRemoved: 0, bytesReclaimed: 0 };
    let failure: unknown;
    for (const p of this.duePartitions(now)) {
      if (this.ctx.isClosing()) break;
      if (!this.alive(p) || (this.failedAt.get(p.id) ?? -Infinity) > performance.now() - FAILED_BACKOFF_MS) continue;
      let result;
      try {
        // Planned again: the passes before this one took time, and retention may have run.
        const config = this.ctx.topics.config(p.topic);
        result = await cleanPartition(this.cleanerContext(), p, this.plan(p, config, now), config['delete.retention.ms'], now);
      } catch (err) {
        // Kafka marks such a partition uncleanable; Weir tries it again later (a full disk passes).
        this.failedAt.set(p.id, performance.now());
        this.ctx.log.error({ err, topic: p.topic, partition: p.partition }, 'compacting a partition failed; the log cleaner tries it again in 10 minutes');
        failure ??= err;
        continue;
      }
      this.failedAt.delete(p.id);
      if (result === undefined) continue;
      report.partitionsCompacted++;
      report.recordsRemoved += result.recordsRemoved;
      report.bytesReclaimed += result.bytesReclaimed;
      if (result.mappedAll) this.unfinished.delete(p.id);
      else this.unfinished.add(p.id);
      this.ctx.log.debug({ topic: p.topic, partition: p.partition, ...result }, 'partition compacted');
    }
    if (report.partitionsCompacted > 0) this.ctx.log.info(report, 'log compaction done');
    // The other partitions were compacted; the caller learns that one failed (its log line says which).
    if (failure !== undefined) throw failure;
    return report;
  }

  private alive(p: PartitionState): boolean {
    const { topics } = this.ctx;
    return topics.has(p.topic) && topics.partitionsOf(p.topic)[p.partition] === p;
  }

  private cleanerContext(): CleanerContext {
    const { env, counters, lock } = this.ctx;
    const testHooks = this.testHooks;
    this.map ??= new KeyOffsetMap(this.bufferBytes);
    this.workStarted = performance.now();
    return {
      env,
      counters,
      lock,
      map: this.map,
      sliceBytes: SLICE_BYTES,
      sliceBatches: SLICE_BATCHES,
      chunkBytes: testHooks?.chunkBytes ?? CHUNK_BYTES,
      pause: () => this.pause(),
      stopped: () => this.ctx.isClosing(),
      alive: (p) => this.alive(p),
      betweenChunks: testHooks?.betweenChunks,
    };
  }

  /** Gives the event loop back; while appends wait, for four times as long as the work since the last pause. */
  private async pause(): Promise<void> {
    const worked = performance.now() - this.workStarted;
    await new Promise<void>((resolve) => {
      if (this.ctx.appendsWaiting()) setTimeout(resolve, Math.max(1, worked * BUSY_REST_FACTOR));
      else setImmediate(resolve);
    });
    this.workStarted = performance.now();
  }
}
