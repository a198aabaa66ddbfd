/**
 * The LMDB-backed log store: topics and partitions over one LMDB environment, appends through
 * the group committer, reads straight from LMDB, retention on a timer. See lmdb-env.ts for the
 * layout and group-commit.ts for how an append becomes durable.
 */
import { mkdirSync, statfsSync } from 'node:fs';
import { WeirError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RecordInput } from '../kafka/protocol/record-batch.js';
import { Admission } from './admission.js';
import { GroupCommitter } from './group-commit.js';
import type { PendingAppend } from './pending-append.js';
import { LmdbKv } from './kv.js';
import { logKey, partitionEndKey } from './keys.js';
import { TxnWrites, durable, isNoSpace, openLmdbEnv, type LmdbEnv, type TopicRecord } from './lmdb-env.js';
import { lockDataDir, type DirLock } from './lock.js';
import { loadPartition, type PartitionState } from './partition.js';
import { deleteSegments, planBudget, planRetention, type BudgetCandidate, type SegmentDeletion } from './retention.js';
import { SmallState } from './small-state.js';
import { TopicRegistry } from './topics.js';
import { checkRecordsSize, validateClientBatches } from './validate.js';
import type { TopicConfig } from './topic-config.js';
import type {
  AppendResult,
  AppendWaiter,
  CursorPosition,
  GroupOffset,
  KvNamespace,
  LogStore,
  ReadResult,
  RetentionReport,
  StoreOptions,
  StoreStats,
  TopicDescription,
} from './types.js';

/** Free space below which a failed write is put down to a full filesystem (see filesystemFull). */
const FULL_BELOW_BYTES = 1024 * 1024;


export class LmdbStore implements LogStore {
  private readonly committer: GroupCommitter;
  private readonly small: SmallState;
  private readonly admission: Admission;
  private readonly topics: TopicRegistry;
  private usedBytes = 0;
  private storageFailure: string | undefined;
  /** Classifying the first failed commit since the store last wrote (see noteStorageFailure). */
  private failureNoted: Promise<{ noSpace: boolean }> | undefined;
  private recordsAppended = 0;
  private bytesAppended = 0;
  private payloadBytesAppended = 0;
  private recordsDropped = 0;
  private closing = false;
  private closed: Promise<void> | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private retentionRunning: Promise<RetentionReport> | undefined;

  private constructor(
    private readonly options: StoreOptions,
    private readonly env: LmdbEnv,
    private readonly lock: DirLock,
    private readonly log: Logger,
  ) {
    const limits = { maxTopics: options.maxTopics ?? Infinity, maxPartitions: options.maxPartitions ?? Infinity };
    this.topics = new TopicRegistry(env, options.topicDefaults, options.defaultPartitions, limits, (pid, topic, partition) =>
      loadPartition(env, log, pid, topic, partition),
    );
    this.usedBytes = this.topics.allPartitions().reduce((sum, p) => sum + p.sizeBytes, 0);
    this.small = new SmallState(env);
    this.committer = new GroupCommitter(env, log, {
      onDurable: (bytes, records, payloadBytes) => {
        this.usedBytes += bytes;
        this.bytesAppended += bytes;
        this.payloadBytesAppended += payloadBytes;
        this.recordsAppended += records;
        if (this.usedBytes > this.diskBudgetBytes()) this.requestRetention();
      },
      onQueueDrained: () => this.admission.wake(),
      recoverAfterFailure: async () => {
        await this.retentionRunning?.catch(() => undefined);
        this.topics.reloadPartitions();
        this.usedBytes = this.topics.allPartitions().reduce((sum, p) => sum + p.sizeBytes, 0);
        await this.retryAfterFailure();
      },
      // The first failure is the cause; the transactions issued behind it fail because it did.
      onCommitFailed: (cause) => {
        this.failureNoted ??= this.noteStorageFailure(cause);
      },
    });
    this.admission = new Admission(
      {
        maxQueuedRecords: options.writeQueueMaxRecords,
        maxQueuedBytes: options.writeQueueMaxBytes,
        blockTimeoutMs: options.blockTimeoutMs,
      },
      {
        diskBudgetBytes: () => this.diskBudgetBytes(),
        queuedRecords: () => this.committer.records,
        queuedBytes: () => this.committer.bytes,
        usedBytes: () => this.usedBytes,
        requestRetention: () => this.requestRetention(),
      },
      log,
    );
    if (options.retentionCheckIntervalMs > 0) {
      this.retentionTimer = setInterval(() => this.requestRetention(), options.retentionCheckIntervalMs);
      this.retentionTimer.unref();
    }
  }

  static open(options: StoreOptions, logger: Logger): LmdbStore {
    const log = logger.child({ component: 'store' });
    mkdirSync(options.dir, { recursive: true });
    const lock = lockDataDir(options.dir);
    let env: LmdbEnv;
    try {
      env = openLmdbEnv(options.dir, options.overlappingSync);
    } catch (err) {
      lock.release();
      throw err;
    }
    const store = new LmdbStore(options, env, lock, log);
    const counts = store.topics.counts();
    log.info({ dir: options.dir, topics: counts.topics, partitions: counts.partitions, usedBytes: store.usedBytes, diskBudgetBytes: options.diskBudgetBytes }, 'store opened');
    if (counts.topics > counts.maxTopics || counts.partitions > counts.maxPartitions) {
      // Written by an older Weir or under higher caps: open it anyway, refuse to add more.
      log.warn(
        { topics: counts.topics, maxTopics: counts.maxTopics, partitions: counts.partitions, maxPartitions: counts.maxPartitions },
        'the data directory holds more topics or partitions than store.max_topics / store.max_partitions allow: no topic or partition can be created until enough are deleted (weir topics delete); each costs memory',
      );
    }
    return store;
  }

  private diskBudgetBytes(): number {
    return this.options.diskBudgetBytes;
  }

  /**
   * After a commit fails for want of space (ENOSPC) or with an I/O error, LMDB answers every
   * later write transaction of this environment with EIO (lmdb-js 3.5; even closing it fails),
   * while what was committed before stays intact and readable. The store therefore refuses
   * appends at once, retriably, says what to do, and exposes the failure for health checks
   * (/healthz, /readyz, the status page); a restart after freeing space resumes writing (the next
   * start derives an `auto` budget from the space actually free). A failure that is not a full
   * filesystem may have been transient: see retryAfterFailure.
   */
  private async noteStorageFailure(cause: unknown): Promise<{ noSpace: boolean }> {
    const noSpace = (await isNoSpace(cause)) || filesystemFull(this.options.dir);
    this.storageFailure = noSpace
      ? `the filesystem holding ${this.options.dir} is full; free space on it, then restart Weir`
      : `LMDB failed to write to ${this.options.dir} (${String(cause)}); check the device, then restart Weir`;
    this.log.fatal({ dir: this.options.dir, noSpace, usedBytes: this.usedBytes }, `storage failure: ${this.storageFailure}`);
    this.admission.wake();
    return { noSpace };
  }

  /**
   * Once the committer has recovered from a failed commit (offsets reloaded from disk), one small
   * write tells a transient failure from a broken environment: if it commits and flushes, the
   * failure is cleared and appends resume; if not, the store keeps refusing them until restart.
   * A full filesystem is not retried (lmdb-js refuses every later write in this process).
   */
  private async retryAfterFailure(): Promise<void> {
    const noted = this.failureNoted;
    if (noted === undefined) return;
    const { noSpace } = await noted;
    if (noSpace || this.closing) return;
    try {
      await durable(this.env.meta.put('lastWriteRetryAt', Date.now()));
    } catch (err) {
      this.log.fatal({ err, dir: this.options.dir }, `a write after the failed commit failed too: the store stays read-only until Weir restarts (${this.storageFailure})`);
      return;
    }
    this.log.warn({ dir: this.options.dir, failure: this.storageFailure }, 'storage recovered: a write after the failed commit succeeded; appends resume');
    this.storageFailure = undefined;
    this.failureNoted = undefined;
  }

  // ---------------------------------------------------------------- topics

  async createTopic(name: string, options: { partitions?: number; configs?: Record<string, string> } = {}): Promise<TopicDescription> {
    this.assertOpen();
    await this.topics.create(name, options.partitions, options.configs ?? {});
    return this.describeTopic(name);
  }

  async deleteTopic(name: string): Promise<void> {
    this.assertOpen();
    const partitions = this.topics.partitionsOf(name);
    // Forget the topic first, so no new append reaches it; let those already queued land (their
    // callers were told they were accepted), then remove everything in one transaction.
    const removeRecord = this.topics.remove(name);
    await Promise.all(partitions.map((p) => p.whenAppendsSettled()));
    const writes = new TxnWrites();
    writes.add(removeRecord);
    for (const p of partitions) {
      p.releaseWaiters();
      this.usedBytes -= p.sizeBytes;
      for (const key of this.env.batches.getKeys({ start: logKey(p.id, 0), end: partitionEndKey(p.id) })) {
        writes.add(this.env.batches.remove(Buffer.from(key)));
      }
      for (const key of this.env.segments.getKeys({ start: logKey(p.id, 0), end: partitionEndKey(p.id) })) {
        writes.add(this.env.segments.remove(Buffer.from(key)));
      }
      writes.add(this.env.partitions.remove(p.id));
    }
    for (const c of this.listCursors()) if (c.topic === name) writes.add(this.env.cursors.remove([c.name, c.topic, c.partition]));
    for (const { key } of this.env.groups.getRange()) if (key[1] === name) writes.add(this.env.groups.remove(key));
    await writes.durable();
    this.log.info({ topic: name }, 'topic deleted');
  }

  async alterTopicConfigs(name: string, set: Record<string, string>, remove: string[] = []): Promise<TopicDescription> {
    this.assertOpen();
    await this.topics.alterConfigs(name, set, remove);
    return this.describeTopic(name);
  }

  async createPartitions(name: string, count: number): Promise<TopicDescription> {
    this.assertOpen();
    await this.topics.grow(name, count);
    return this.describeTopic(name);
  }

  listTopics(): string[] {
    return this.topics.names();
  }

  hasTopic(name: string): boolean {
    return this.topics.has(name);
  }

  partitionCount(name: string): number {
    return this.topics.partitionCount(name);
  }

  describeTopic(name: string): TopicDescription {
    const record: TopicRecord = this.topics.record(name);
    return {
      name,
      partitions: this.topics.partitionsOf(name).map((p) => ({
        partition: p.partition,
        logStartOffset: p.logStartOffset,
        highWatermark: p.highWatermark,
        sizeBytes: p.sizeBytes,
        segments: p.segments.length,
      })),
      config: this.topics.config(name),
      overrides: { ...record.overrides },
      createdAt: record.createdAt,
    };
  }

  // ---------------------------------------------------------------- the log

  appendRecords(topic: string, partition: number, records: RecordInput[]): Promise<AppendResult> {
    return promised((waiter) => this.appendRecordsTo(topic, partition, records, waiter));
  }

  appendRecordsTo(topic: string, partition: number, records: RecordInput[], waiter: AppendWaiter): void {
    let state: PartitionState;
    let config: TopicConfig;
    let bytes: number;
    try {
      this.assertWritable();
      state = this.topics.partition(topic, partition);
      config = this.topics.config(topic);
      bytes = checkRecordsSize(records, config, topic, partition);
    } catch (err) {
      queueMicrotask(() => waiter.appendSettled(err));
      return;
    }
    let payloadBytes = 0;
    for (const r of records) payloadBytes += (r.key?.length ?? 0) + (r.value?.length ?? 0);
    this.enqueue(state, config, records, undefined, records.length, bytes, payloadBytes, waiter);
  }

  async appendBatches(topic: string, partition: number, recordSet: Buffer): Promise<AppendResult> {
    this.assertWritable();
    const state = this.topics.partition(topic, partition);
    const config = this.topics.config(topic);
    const { batches, records } = validateClientBatches(recordSet, config, topic, partition);
    // The caller's buffer is rewritten in place (base offset) and kept until committed: copy it.
    const copies = batches.map((b) => Buffer.from(b));
    return promised((waiter) => this.enqueue(state, config, undefined, copies, records, recordSet.length, recordSet.length, waiter));
  }

  private enqueue(
    partition: PartitionState,
    config: TopicConfig,
    records: RecordInput[] | undefined,
    batches: Buffer[] | undefined,
    recordCount: number,
    bytes: number,
    payloadBytes: number,
    waiter: AppendWaiter,
  ): void {
    const append: PendingAppend = {
      partition,
      config,
      records,
      batches,
      recordCount,
      bytes,
      payloadBytes,
      unqueued: false,
      flushDeadline: performance.now() + config['flush.ms'],
      flushMessages: config['flush.messages'],
      baseOffset: -1,
      lastOffset: -1,
      waiter,
    };
    const policy = config['weir.overflow.policy'];
    if (this.admission.fits(recordCount, bytes, policy)) {
      this.committer.enqueue(append);
      return;
    }
    this.admission
      .admitLater(recordCount, bytes, policy, this.isClosing, () => this.committer.enqueue(append))
      .catch((err: unknown) => waiter.appendSettled(err ?? new Error('the append was not admitted')));
  }

  read(topic: string, partition: number, offset: number, maxBytes: number): ReadResult {
    return this.topics.partition(topic, partition).read(offset, maxBytes);
  }

  waitForData(topic: string, partition: number, offset: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.closing) return Promise.resolve(false);
    return this.topics.partition(topic, partition).waitForData(offset, timeoutMs, signal);
  }

  offsets(topic: string, partition: number): { logStartOffset: number; highWatermark: number } {
    const p = this.topics.partition(topic, partition);
    return { logStartOffset: p.logStartOffset, highWatermark: p.highWatermark };
  }

  offsetForTimestamp(topic: string, partition: number, timestamp: number): { offset: number; timestamp: number } | null {
    return this.topics.partition(topic, partition).offsetForTimestamp(timestamp);
  }

  async deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<number> {
    this.assertOpen();
    const p = this.topics.partition(topic, partition);
    const target = beforeOffset === -1 ? p.highWatermark : beforeOffset;
    if (target < 0 || target > p.highWatermark) {
      throw new WeirError('OFFSET_OUT_OF_RANGE', `cannot delete records before ${beforeOffset}: the high watermark of ${topic}-${partition} is ${p.highWatermark}`);
    }
    if (target > p.logStartOffset) {
      p.logStartOffset = target;
      const deletions = planRetention(this.retentionInput(p, Date.now())).filter((d) => d.reason === 'log-start-offset');
      if (deletions.length > 0) {
        this.usedBytes -= deletions.reduce((sum, d) => sum + d.segment.bytes, 0);
        await deleteSegments(this.env, p, deletions);
      } else {
        await durable(this.env.partitions.put(p.id, { topic, partition, nextOffset: p.highWatermark, logStartOffset: p.logStartOffset }));
      }
    }
    return p.logStartOffset;
  }

  // ---------------------------------------------------------------- groups and cursors

  async commitGroupOffsets(group: string, offsets: Omit<GroupOffset, 'commitTimestamp'>[]): Promise<void> {
    this.assertOpen();
    return this.small.commitGroupOffsets(group, offsets);
  }

  fetchGroupOffsets(group: string): GroupOffset[] {
    return this.small.fetchGroupOffsets(group);
  }

  listGroupsWithOffsets(): string[] {
    return this.small.listGroupsWithOffsets();
  }

  async deleteGroupOffsets(group: string): Promise<void> {
    this.assertOpen();
    return this.small.deleteGroupOffsets(group);
  }

  async setCursor(name: string, topic: string, partition: number, offset: number): Promise<void> {
    this.assertOpen();
    this.topics.partition(topic, partition);
    return this.small.setCursor(name, topic, partition, offset);
  }

  getCursor(name: string, topic: string, partition: number): number | undefined {
    return this.small.getCursor(name, topic, partition);
  }

  listCursors(): CursorPosition[] {
    return this.small.listCursors();
  }

  async deleteCursor(name: string, topic: string, partition: number): Promise<void> {
    this.assertOpen();
    return this.small.deleteCursor(name, topic, partition);
  }

  kv<V = unknown>(namespace: string): KvNamespace<V> {
    return new LmdbKv<V>(this.env, namespace, () => this.assertOpen());
  }

  // ---------------------------------------------------------------- housekeeping

  private requestRetention(): void {
    if (this.closing || this.retentionRunning !== undefined) return;
    this.runRetention().catch((err: unknown) => this.log.error({ err }, 'retention failed'));
  }

  private minCursors(): Map<number, number> {
    const min = new Map<number, number>();
    for (const c of this.listCursors()) {
      if (!this.topics.has(c.topic)) continue;
      const p = this.topics.partitionsOf(c.topic)[c.partition];
      if (p !== undefined) min.set(p.id, Math.min(min.get(p.id) ?? Infinity, c.offset));
    }
    return min;
  }

  private retentionInput(p: PartitionState, now: number, minCursor = Infinity) {
    return {
      segments: p.segments,
      sizeBytes: p.sizeBytes,
      highWatermark: p.highWatermark,
      logStartOffset: p.logStartOffset,
      config: this.topics.config(p.topic),
      minCursor,
      now,
    };
  }

  async runRetention(now = Date.now()): Promise<RetentionReport> {
    if (this.retentionRunning !== undefined) return this.retentionRunning;
    this.retentionRunning = this.retain(now).finally(() => {
      this.retentionRunning = undefined;
    });
    return this.retentionRunning;
  }

  private async retain(now: number): Promise<RetentionReport> {
    const report: RetentionReport = { segmentsDeleted: 0, bytesDeleted: 0, recordsDropped: 0 };
    const minCursors = this.minCursors();
    const apply = async (p: PartitionState, deletions: SegmentDeletion[]) => {
      if (deletions.length === 0) return;
      for (const d of deletions) {
        report.segmentsDeleted++;
        report.bytesDeleted += d.segment.bytes;
        this.usedBytes -= d.segment.bytes;
        const dropped = Math.max(0, d.droppedTo - d.droppedFrom);
        if (dropped > 0 && d.reason !== 'log-start-offset') {
          report.recordsDropped += dropped;
          this.recordsDropped += dropped;
          const event = { topic: p.topic, partition: p.partition, fromOffset: d.droppedFrom, toOffset: d.droppedTo, reason: d.reason };
          this.log.warn(event, 'records dropped before every cursor passed them (weir.overflow.policy=drop-oldest)');
          this.options.onDrop?.(event);
        }
      }
      await deleteSegments(this.env, p, deletions);
    };
    const all = this.topics.allPartitions();
    for (const p of all) await apply(p, planRetention(this.retentionInput(p, now, minCursors.get(p.id))));
    const excess = this.usedBytes - this.diskBudgetBytes();
    if (excess > 0) {
      const candidates: BudgetCandidate[] = all
        .filter((p) => this.topics.has(p.topic))
        .map((p) => ({ partition: p, config: this.topics.config(p.topic), minCursor: minCursors.get(p.id) ?? Infinity }));
      for (const [p, deletions] of planBudget(candidates, excess)) await apply(p, deletions);
    }
    this.admission.afterRetention();
    if (report.segmentsDeleted > 0) {
      this.log.info(report, 'retention deleted segments');
      this.admission.wake();
    }
    return report;
  }

  stats(): StoreStats {
    return {
      usedBytes: this.usedBytes,
      diskBudgetBytes: this.diskBudgetBytes(),
      queuedRecords: this.committer.records,
      queuedBytes: this.committer.bytes,
      commits: this.committer.commits,
      recordsAppended: this.recordsAppended,
      bytesAppended: this.bytesAppended,
      payloadBytesAppended: this.payloadBytesAppended,
      recordsDropped: this.recordsDropped,
      topics: this.topics.counts().topics,
      partitions: this.topics.counts().partitions,
      storageFailure: this.storageFailure,
    };
  }

  private readonly isClosing = () => this.closing;

  private assertOpen(): void {
    if (this.closing) throw new WeirError('STORE_CLOSED', 'the store is closed');
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.storageFailure !== undefined) {
      throw new WeirError('STORAGE_ERROR', `the store cannot write: ${this.storageFailure}`, { details: { dir: this.options.dir } });
    }
  }

  /** Stops taking appends, lets queued ones commit, waits for the flush, closes LMDB, unlocks. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      if (this.retentionTimer !== undefined) clearInterval(this.retentionTimer);
      this.admission.wake();
      this.committer.flushEverything();
      await this.committer.idle();
      await this.retentionRunning?.catch(() => undefined);
      for (const p of this.topics.allPartitions()) p.releaseWaiters();
      if (this.storageFailure === undefined) {
        await this.checkpointActiveSegments();
        await this.env.root.flushed;
        await this.env.root.close();
      } else {
        // After a storage failure lmdb-js fails the final flush and may never settle close():
        // give it a moment, then let the process go (everything committed is already on disk).
        await Promise.race([this.env.root.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000))]);
      }
      this.lock.release();
      this.log.info('store closed');
    })();
    return this.closed;
  }

  /**
   * Writes each active segment's row as it stands, so the next open reads nothing back (see
   * loadPartition). Commits leave those rows behind to spare the flash.
   */
  private async checkpointActiveSegments(): Promise<void> {
    const writes = new TxnWrites();
    for (const p of this.topics.allPartitions()) {
      const active = p.segments.at(-1);
      if (active === undefined || active.bytes === p.activeRowBytes) continue;
      writes.add(this.env.segments.put(logKey(p.id, active.baseOffset), { ...active }));
      p.activeRowBytes = active.bytes;
    }
    await writes.durable().catch((err: unknown) => this.log.warn({ err }, 'writing segment checkpoints at close failed; the next start reads them back from the log'));
  }
}

/**
 * LMDB reports a short write as EIO (mdb_page_flush), and a write of several pages to a filesystem
 * that runs out part-way is short, not ENOSPC: so a failure with the filesystem all but full is
 * taken for what it is.
 */
function filesystemFull(dir: string): boolean {
  try {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize < FULL_BELOW_BYTES;
  } catch {
    return false;
  }
}

/** The promise form of a callback-style append. */
function promised(start: (waiter: AppendWaiter) => void): Promise<AppendResult> {
  return new Promise((resolve, reject) => start({ appendSettled: (err, result) => (err === null ? resolve(result!) : reject(err)) }));
}
