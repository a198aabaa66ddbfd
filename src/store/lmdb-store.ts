/**
 * The LMDB-backed log store: topics and partitions over one LMDB environment, appends through
 * the group committer, reads straight from LMDB, retention on a timer. This class wires the parts
 * and owns the store's life: lmdb-env.ts (the layout), appender.ts and group-commit.ts (how an
 * append becomes durable), retention-runner.ts, compaction/compaction-runner.ts (the log
 * cleaner), storage-failure.ts, topic-removal.ts.
 */
import { mkdirSync } from 'node:fs';
import { WeirError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RecordInput } from '../kafka/protocol/record-batch.js';
import { encodeTransactionMarker } from '../kafka/protocol/control-batch.js';
import { abortedTransactions } from './aborted-txn-index.js';
import { Admission } from './admission.js';
import { Appender } from './appender.js';
import { CompactionRunner } from './compaction/compaction-runner.js';
import { StoreCounters } from './counters.js';
import { GroupCommitter } from './group-commit.js';
import { HousekeepingLock } from './housekeeping.js';
import { LmdbKv } from './kv.js';
import { openLmdbEnv, type LmdbEnv, type TopicRecord } from './lmdb-env.js';
import { openTransactionPartitions, writeTransactionOutcome } from './transaction-outcome.js';
import { lockDataDir, type DirLock } from './lock.js';
import { loadPartition, partitionInfo, writeActiveSegmentRows } from './partition.js';
import { deleteRecordsBefore } from './delete-records.js';
import { RetentionRunner } from './retention-runner.js';
import { SmallState } from './small-state.js';
import { StorageFailure } from './storage-failure.js';
import { removeTopic } from './topic-removal.js';
import { TopicRegistry } from './topics.js';
import type {
  AbortedTransaction,
  AppendResult,
  AppendWaiter,
  CompactionReport,
  CursorPosition,
  GroupOffset,
  IsolationLevel,
  KvNamespace,
  LogStore,
  ReadResult,
  RetentionReport,
  StoreOptions,
  StoreStats,
  StoredProducerState,
  TopicDescription,
  TransactionMarker,
  TransactionOutcome,
  ValidatedBatches,
} from './types.js';

/** Kafka's producer.id.expiration.ms default: one day. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;

export class LmdbStore implements LogStore {
  private readonly committer: GroupCommitter;
  private readonly small: SmallState;
  private readonly admission: Admission;
  private readonly appender: Appender;
  private readonly topics: TopicRegistry;
  private readonly retention: RetentionRunner;
  private readonly compaction: CompactionRunner;
  /** Retention, compaction chunks and the reload after a failed commit: one at a time. */
  private readonly housekeeping = new HousekeepingLock();
  private readonly failure: StorageFailure;
  private readonly counters = new StoreCounters();
  private closing = false;
  private closed: Promise<void> | undefined;

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
    this.counters.usedBytes = this.storedBytes();
    this.small = new SmallState(env);
    this.failure = new StorageFailure({ env, dir: options.dir, log, usedBytes: () => this.counters.usedBytes, onNoted: () => this.admission.wake() });
    this.committer = this.openCommitter();
    this.admission = this.openAdmission();
    this.appender = new Appender(this.topics, this.admission, this.committer, () => this.assertWritable(), this.isClosing);
    this.retention = new RetentionRunner(
      {
        env,
        topics: this.topics,
        counters: this.counters,
        log,
        lock: this.housekeeping,
        diskBudgetBytes: options.diskBudgetBytes,
        cursors: () => this.small.listCursors(),
        onDrop: options.onDrop,
        afterRun: (deleted) => {
          this.admission.afterRetention();
          if (deleted) this.admission.wake();
        },
        isClosing: this.isClosing,
      },
      options.retentionCheckIntervalMs,
    );
    const appendsWaiting = () => this.committer.records > 0;
    this.compaction = new CompactionRunner({ env, topics: this.topics, counters: this.counters, log, lock: this.housekeeping, appendsWaiting, isClosing: this.isClosing }, options);
  }

  private openCommitter(): GroupCommitter {
    return new GroupCommitter(this.env, this.log, {
      onDurable: (bytes, records, payloadBytes) => {
        this.counters.usedBytes += bytes;
        this.counters.bytesAppended += bytes;
        this.counters.payloadBytesAppended += payloadBytes;
        this.counters.recordsAppended += records;
        if (this.counters.usedBytes > this.options.diskBudgetBytes) this.retention.request();
      },
      onQueueDrained: () => this.admission.wake(),
      recoverAfterFailure: async () => {
        await this.housekeeping.run(() => {
          this.topics.reloadPartitions();
          this.counters.usedBytes = this.storedBytes();
        });
        await this.failure.retry(this.isClosing);
      },
      onCommitFailed: (cause) => this.failure.commitFailed(cause),
    });
  }

  private openAdmission(): Admission {
    const { writeQueueMaxRecords, writeQueueMaxBytes, blockTimeoutMs, diskBudgetBytes } = this.options;
    return new Admission(
      { maxQueuedRecords: writeQueueMaxRecords, maxQueuedBytes: writeQueueMaxBytes, blockTimeoutMs },
      {
        diskBudgetBytes: () => diskBudgetBytes,
        queuedRecords: () => this.committer.records,
        queuedBytes: () => this.committer.bytes,
        usedBytes: () => this.counters.usedBytes,
        requestRetention: () => this.retention.request(),
      },
      this.log,
    );
  }

  private storedBytes(): number {
    return this.topics.allPartitions().reduce((sum, p) => sum + p.sizeBytes, 0);
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
    log.info({ dir: options.dir, topics: counts.topics, partitions: counts.partitions, usedBytes: store.counters.usedBytes, diskBudgetBytes: options.diskBudgetBytes }, 'store opened');
    store.topics.warnIfOverCaps(log);
    return store;
  }

  // ---------------------------------------------------------------- topics

  async createTopic(name: string, options: { partitions?: number; configs?: Record<string, string> } = {}): Promise<TopicDescription> {
    this.assertOpen();
    await this.topics.create(name, options.partitions, options.configs ?? {});
    return this.describeTopic(name);
  }

  checkCreateTopic(name: string, options: { partitions?: number; configs?: Record<string, string> } = {}): void {
    this.assertOpen();
    this.topics.checkCreate(name, options.partitions, options.configs ?? {});
  }

  async deleteTopic(name: string): Promise<void> {
    this.assertOpen();
    await removeTopic(this.env, this.topics, this.counters, () => this.small.listCursors(), name);
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
    const config = this.topics.config(name);
    return {
      name,
      partitions: this.topics.partitionsOf(name).map((p) => partitionInfo(p, this.compaction.status(p, config))),
      config,
      overrides: { ...record.overrides },
      createdAt: record.createdAt,
    };
  }

  // ---------------------------------------------------------------- the log

  appendRecords(topic: string, partition: number, records: RecordInput[]): Promise<AppendResult> {
    return this.appender.appendRecords(topic, partition, records);
  }

  appendRecordsTo(topic: string, partition: number, records: RecordInput[], waiter: AppendWaiter): void {
    this.appender.appendRecordsTo(topic, partition, records, waiter);
  }

  appendBatches(topic: string, partition: number, recordSet: Buffer): Promise<AppendResult> {
    return this.appender.appendBatches(topic, partition, recordSet);
  }

  validateBatches(topic: string, partition: number, recordSet: Buffer): ValidatedBatches {
    return this.appender.validateBatches(topic, partition, recordSet);
  }

  appendValidatedBatches(validated: ValidatedBatches): Promise<AppendResult> {
    return this.appender.appendValidatedBatches(validated);
  }

  read(topic: string, partition: number, offset: number, maxBytes: number, isolation?: IsolationLevel): ReadResult {
    return this.topics.partition(topic, partition).read(offset, maxBytes, isolation === 'read_committed');
  }

  waitForData(topic: string, partition: number, offset: number, timeoutMs: number, signal?: AbortSignal, isolation?: IsolationLevel): Promise<boolean> {
    if (this.closing) return Promise.resolve(false);
    return this.topics.partition(topic, partition).waitForData(offset, timeoutMs, signal, isolation === 'read_committed');
  }

  offsets(topic: string, partition: number): { logStartOffset: number; highWatermark: number; lastStableOffset: number } {
    const p = this.topics.partition(topic, partition);
    return { logStartOffset: p.logStartOffset, highWatermark: p.highWatermark, lastStableOffset: p.lastStableOffset() };
  }

  abortedTransactions(topic: string, partition: number, fromOffset: number, toOffset: number): AbortedTransaction[] {
    return abortedTransactions(this.env, this.topics.partition(topic, partition).id, fromOffset, toOffset);
  }

  appendTransactionMarker(topic: string, partition: number, marker: TransactionMarker): Promise<AppendResult> {
    return this.appender.appendControlBatch(topic, partition, encodeTransactionMarker({ ...marker, timestamp: Date.now() }));
  }

  openTransactionPartitions(producerId: number): { topic: string; partition: number }[] {
    return openTransactionPartitions(this.topics, producerId);
  }

  writeTransactionOutcome(outcome: TransactionOutcome): Promise<void> {
    this.assertOpen();
    return writeTransactionOutcome(this.env, this.topics, this.appender, outcome);
  }

  producerState(topic: string, partition: number, producerId: number): StoredProducerState | undefined {
    const state = this.topics.partition(topic, partition).producers?.get(producerId);
    if (state === undefined) return undefined;
    // Kafka's producer.id.expiration.ms (KIP-854): a producer idle that long is forgotten.
    const expired = state.txnFirstOffset < 0 && Date.now() - state.lastWriteAt > (this.options.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS);
    return expired ? undefined : state;
  }

  offsetForTimestamp(topic: string, partition: number, timestamp: number): { offset: number; timestamp: number } | null {
    return this.topics.partition(topic, partition).offsetForTimestamp(timestamp);
  }

  async deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<number> {
    this.assertOpen();
    return deleteRecordsBefore(this.topics, this.retention, topic, partition, beforeOffset);
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

  runRetention(now = Date.now()): Promise<RetentionReport> {
    return this.retention.run(now);
  }

  runCompaction(now = Date.now()): Promise<CompactionReport> {
    this.assertOpen();
    return this.compaction.run(now);
  }

  stats(): StoreStats {
    return {
      usedBytes: this.counters.usedBytes,
      diskBudgetBytes: this.options.diskBudgetBytes,
      queuedRecords: this.committer.records,
      queuedBytes: this.committer.bytes,
      commits: this.committer.commits,
      recordsAppended: this.counters.recordsAppended,
      bytesAppended: this.counters.bytesAppended,
      payloadBytesAppended: this.counters.payloadBytesAppended,
      recordsDropped: this.counters.recordsDropped,
      topics: this.topics.counts().topics,
      partitions: this.topics.counts().partitions,
      storageFailure: this.failure.reason,
    };
  }

  private readonly isClosing = () => this.closing;

  private assertOpen(): void {
    if (this.closing) throw new WeirError('STORE_CLOSED', 'the store is closed');
  }

  private assertWritable(): void {
    this.assertOpen();
    this.failure.assertWritable();
  }

  /** Stops taking appends, lets queued ones commit, waits for the flush, closes LMDB, unlocks. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      this.retention.stop();
      this.compaction.stop();
      this.admission.wake();
      this.committer.flushEverything();
      await this.committer.idle();
      await this.retention.settled();
      await this.compaction.settled();
      for (const p of this.topics.allPartitions()) p.releaseWaiters();
      if (this.failure.reason === undefined) {
        await writeActiveSegmentRows(this.env, this.topics.allPartitions()).catch((err: unknown) =>
          this.log.warn({ err }, 'writing segment checkpoints at close failed; the next start reads them back from the log'),
        );
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
}
