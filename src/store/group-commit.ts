/**
 * Group commit: appends from every caller and partition queue up here, and each LMDB write
 * transaction carries as many of them as are waiting (up to a byte cap). Offsets are assigned when
 * a transaction is built, and the batch bytes, the segment metadata and the partition's next
 * offset are all written in that one transaction, so a crash can never leave a gap or a duplicate
 * offset. An append is reported done only after its transaction is flushed to disk.
 *
 * Records from different callers to the same partition in one transaction are coalesced into one
 * RecordBatch (split at `max.message.bytes`), which is what makes small MQTT messages cheap.
 * Client-built batches (Kafka Produce) are stored as they came, with only the base offset and
 * partition leader epoch rewritten (neither is covered by the CRC).
 *
 * One transaction is outstanding at a time, unless enough waits behind it: each flush then carries
 * everything that arrived during the previous one. A durable commit costs ~0.4 ms of CPU here
 * whatever its size (mostly the kernel's fdatasync), so under light load fewer, fuller commits
 * are what keeps CPU and tail latency down (5000 MQTT msg/s: a commit per 2.6 records with four
 * outstanding, per 5 with one). Under heavy load the queue passes PIPELINE_BYTES and up to
 * MAX_IN_FLIGHT transactions overlap: with lmdb-js `overlappingSync` the next one is built and
 * committed while the previous one is still being flushed.
 */
import { WeirError } from '../errors.js';
import type { Logger } from '../logger.js';
import { CompressionType } from '../kafka/protocol/compression.js';
import {
  RECORD_BATCH_OVERHEAD,
  encodeRecordBatch,
  readBatchHeader,
  setBaseOffset,
  setPartitionLeaderEpoch,
  type RecordInput,
} from '../kafka/protocol/record-batch.js';
import { logKey } from './keys.js';
import { durable, sameTransaction, type LmdbEnv, type SegmentMeta } from './lmdb-env.js';
import type { PartitionState } from './partition.js';
import type { TopicConfig, TopicCompression } from './topic-config.js';
import type { AppendWaiter } from './types.js';

const MAX_IN_FLIGHT = 4;
/** Bytes waiting that justify starting a transaction while another is still in flight. */
const PIPELINE_BYTES = 64 * 1024;
/** A transaction stops taking appends past this many bytes, so one commit cannot hog the writer. */
const MAX_COMMIT_BYTES = 1024 * 1024;
const COMMIT_SEQUENCE_KEY = 'seq';

export interface PendingAppend {
  partition: PartitionState;
  config: TopicConfig;
  /**
   * Store-built records, or client-built batches (exactly one of the two). `records` is let go
   * once encoded into its batch: the append waits for its flush for milliseconds, and what it
   * holds on to meanwhile is what the young-generation GC has to copy.
   */
  records: RecordInput[] | undefined;
  batches: Buffer[] | undefined;
  recordCount: number;
  bytes: number;
  /**
   * What the writer asked to store: keys and values of store-built records, the whole record set
   * of a client-built one. The denominator of the flash-wear ratio (bytes written per payload byte).
   */
  payloadBytes: number;
  /** Taken off the queue's books (see `unqueue`). */
  unqueued: boolean;
  /** Offsets given by the transaction that carries the append (-1 until then). */
  baseOffset: number;
  lastOffset: number;
  /** Told once: null and the offsets once durable, or why it failed. */
  waiter: AppendWaiter;
}

export interface CommitHooks {
  /** Bytes added to the log (and payload bytes they carry) by a transaction that became durable. */
  onDurable(bytes: number, records: number, payloadBytes: number): void;
  /** The queue shrank: appenders waiting for room may proceed. */
  onQueueDrained(): void;
  /**
   * A transaction failed: reopen what needs reopening and reload in-memory offsets from disk
   * before going on. Nothing is committed until it resolves.
   */
  recoverAfterFailure(): Promise<void>;
  /** The commit failed with this error (after the appends were rejected). */
  onCommitFailed(cause: unknown): void;
}

export class GroupCommitter {
  private queue: PendingAppend[] = [];
  private queuedRecords = 0;
  private queuedBytes = 0;
  /** Bytes in `queue`, i.e. not yet in a transaction (`queuedBytes` also counts those in flight). */
  private waitingBytes = 0;
  private inFlight = 0;
  private scheduled = false;
  private failed = false;
  private recovering = false;
  private readonly idleWaiters: (() => void)[] = [];
  commits = 0;
  /** Sequence number the next transaction expects to find stored (see lmdb-env.ts, `commits`). */
  private sequence: number;

  constructor(
    private readonly env: LmdbEnv,
    private readonly log: Logger,
    private readonly hooks: CommitHooks,
  ) {
    this.sequence = this.storedSequence();
  }

  private storedSequence(): number {
    return this.env.commits.getEntry(COMMIT_SEQUENCE_KEY)?.version ?? 1;
  }

  get records(): number {
    return this.queuedRecords;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  enqueue(append: PendingAppend): void {
    append.partition.appendQueued();
    this.queue.push(append);
    this.queuedRecords += append.recordCount;
    this.queuedBytes += append.bytes;
    this.waitingBytes += append.bytes;
    this.schedule();
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0 && !this.recovering) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate, not a microtask: appends made in the same event-loop turn join one commit.
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (this.queue.length > 0 && this.mayStartCommit() && !this.failed && !this.recovering) {
      let bytes = 0;
      let taken = 0;
      while (taken < this.queue.length && (taken === 0 || bytes < MAX_COMMIT_BYTES)) {
        bytes += this.queue[taken]!.bytes;
        taken++;
      }
      const appends = this.queue.splice(0, taken);
      this.waitingBytes -= bytes;
      this.inFlight++;
      void this.commit(appends).finally(() => {
        this.inFlight--;
        this.unqueue(appends); // a no-op unless commit() left early by throwing
        if (this.failed && this.inFlight === 0 && !this.recovering) {
          // Every transaction issued after the failed one has settled (and failed with it or
          // not): recover, reload offsets from disk (the only truth), then go on with the queue.
          this.recovering = true;
          this.hooks
            .recoverAfterFailure()
            .catch((err: unknown) => this.log.error({ err }, 'recovering the store after a failed commit failed'))
            .finally(() => {
              try {
                this.sequence = this.storedSequence();
              } catch (err) {
                // Only if the environment is gone; the next commit then fails and recovers again.
                this.log.error({ err }, 'reading the commit sequence after a failed commit failed');
              }
              this.failed = false;
              this.recovering = false;
              this.drain();
              this.wakeIdle();
            });
          return;
        }
        this.drain();
        this.wakeIdle();
      });
    }
  }

  private mayStartCommit(): boolean {
    return this.inFlight === 0 || (this.inFlight < MAX_IN_FLIGHT && this.waitingBytes >= PIPELINE_BYTES);
  }

  private wakeIdle(): void {
    if (this.queue.length === 0 && this.inFlight === 0 && !this.recovering) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /**
   * Takes settled appends off the queue's books. Called before their promises settle, so a caller
   * that appends again at once is not counted twice (durable bytes plus still-queued bytes)
   * against the disk budget or the queue cap.
   */
  private unqueue(appends: PendingAppend[]): void {
    let changed = false;
    for (const a of appends) {
      if (a.unqueued) continue;
      a.unqueued = true;
      changed = true;
      this.queuedRecords -= a.recordCount;
      this.queuedBytes -= a.bytes;
      a.partition.appendSettled();
    }
    if (changed) this.hooks.onQueueDrained();
  }

  private async commit(appends: PendingAppend[]): Promise<void> {
    const touched = new Map<PartitionState, number>();
    let built: ReturnType<GroupCommitter['build']> | undefined;
    let buildError: unknown;
    const expected = this.sequence++;
    // Every write of this transaction is conditional on the stored sequence being `expected`:
    // if an earlier transaction failed, this one writes nothing and resolves false.
    const write = this.env.commits.ifVersion(COMMIT_SEQUENCE_KEY, expected, () => {
      try {
        built = this.build(appends, touched);
      } catch (err) {
        buildError = err;
      }
      sameTransaction(this.env.commits.put(COMMIT_SEQUENCE_KEY, expected + 1, expected + 1));
    });
    if (built === undefined) {
      // Building failed part-way (a codec error): whatever was written for it commits with the
      // sequence bump, so reload offsets from disk rather than guess.
      this.failed = true;
      this.unqueue(appends);
      for (const a of appends) a.waiter.appendSettled(buildError ?? new Error('building the transaction failed'));
      return;
    }
    const { bytes: bytesWritten, records: recordsWritten } = built;
    let payloadBytes = 0;
    for (const a of appends) payloadBytes += a.payloadBytes;
    this.commits++;
    try {
      await durable(write);
      if ((await write) !== true) throw new Error('an earlier group commit failed, so this one was not applied');
    } catch (cause) {
      this.failed = true;
      const err = new WeirError('STORAGE_ERROR', `committing ${appends.length} appends to LMDB failed: ${String(cause)}`, { cause });
      this.log.error({ err }, 'group commit failed; offsets will be reloaded from disk');
      this.unqueue(appends);
      for (const a of appends) a.waiter.appendSettled(err);
      this.hooks.onCommitFailed(cause);
      return;
    }
    for (const [partition, next] of touched) partition.advanceHighWatermark(next);
    this.hooks.onDurable(bytesWritten, recordsWritten, payloadBytes);
    this.unqueue(appends);
    for (const a of appends) a.waiter.appendSettled(null, { baseOffset: a.baseOffset, lastOffset: a.lastOffset, logStartOffset: a.partition.logStartOffset });
  }

  /**
   * Issues one transaction's writes. Runs synchronously inside an lmdb-js conditional-write
   * callback, so every put lands in the same transaction.
   */
  private build(appends: PendingAppend[], touched: Map<PartitionState, number>) {
    const now = Date.now();
    const segmentsTouched = new Map<PartitionState, SegmentMeta[]>();
    let bytes = 0;
    let records = 0;

    const writeBatch = (partition: PartitionState, config: TopicConfig, batch: Buffer, count: number, maxTimestamp: number) => {
      const baseOffset = partition.nextOffset;
      let segment = partition.segments.at(-1);
      if (
        segment === undefined ||
        segment.nextOffset !== baseOffset ||
        (segment.bytes > 0 && segment.bytes + batch.length > config['segment.bytes']) ||
        now - segment.createdAt >= config['segment.ms']
      ) {
        segment = { baseOffset, nextOffset: baseOffset, bytes: 0, createdAt: now, maxTimestamp: -1 };
        partition.segments.push(segment);
      }
      sameTransaction(this.env.batches.put(logKey(partition.id, baseOffset), batch));
      segment.nextOffset = baseOffset + count;
      segment.bytes += batch.length;
      segment.maxTimestamp = Math.max(segment.maxTimestamp, maxTimestamp);
      let list = segmentsTouched.get(partition);
      if (list === undefined) segmentsTouched.set(partition, (list = []));
      if (!list.includes(segment)) list.push(segment);
      partition.nextOffset += count;
      partition.sizeBytes += batch.length;
      touched.set(partition, partition.nextOffset);
      bytes += batch.length;
      records += count;
    };

    // Group consecutive store-built appends per partition so they share batches.
    const byPartition = new Map<PartitionState, PendingAppend[]>();
    for (const a of appends) {
      let list = byPartition.get(a.partition);
      if (list === undefined) byPartition.set(a.partition, (list = []));
      list.push(a);
    }
    for (const [partition, list] of byPartition) {
      let pending: PendingAppend[] = [];
      let pendingBytes = RECORD_BATCH_OVERHEAD;
      const flushPending = () => {
        if (pending.length === 0) return;
        const config = pending[0]!.config;
        const all: RecordInput[] = [];
        let maxTimestamp = -1;
        let offset = partition.nextOffset;
        for (const a of pending) {
          for (const r of a.records!) {
            // Records without a timestamp get `now` from the encoder: no per-record copy.
            const timestamp = r.timestamp ?? now;
            if (timestamp > maxTimestamp) maxTimestamp = timestamp;
            all.push(r);
          }
          a.baseOffset = offset;
          a.lastOffset = offset + a.recordCount - 1;
          offset += a.recordCount;
        }
        const batch = encodeRecordBatch({
          baseOffset: partition.nextOffset,
          records: all,
          compression: codecFor(config['compression.type']),
          now,
        });
        writeBatch(partition, config, batch, all.length, maxTimestamp);
        for (const a of pending) a.records = undefined;
        pending = [];
        pendingBytes = RECORD_BATCH_OVERHEAD;
      };
      for (const a of list) {
        if (a.records !== undefined) {
          if (pending.length > 0 && pendingBytes + a.bytes > a.config['max.message.bytes']) flushPending();
          pending.push(a);
          pendingBytes += a.bytes;
          continue;
        }
        flushPending();
        const baseOffset = partition.nextOffset;
        for (const batch of a.batches!) {
          const header = readBatchHeader(batch);
          setBaseOffset(batch, partition.nextOffset);
          setPartitionLeaderEpoch(batch, 0);
          writeBatch(partition, a.config, batch, header.lastOffsetDelta + 1, header.maxTimestamp);
        }
        a.baseOffset = baseOffset;
        a.lastOffset = partition.nextOffset - 1;
      }
      flushPending();
    }

    for (const [partition, segments] of segmentsTouched) {
      for (const s of segments) sameTransaction(this.env.segments.put(logKey(partition.id, s.baseOffset), { ...s }));
      sameTransaction(
        this.env.partitions.put(partition.id, {
          topic: partition.topic,
          partition: partition.partition,
          nextOffset: partition.nextOffset,
          logStartOffset: partition.logStartOffset,
        }),
      );
    }
    return { bytes, records };
  }
}

function codecFor(type: TopicCompression): CompressionType {
  switch (type) {
    case 'gzip':
      return CompressionType.Gzip;
    case 'snappy':
      return CompressionType.Snappy;
    case 'lz4':
      return CompressionType.Lz4;
    case 'producer':
    case 'uncompressed':
      return CompressionType.None;
  }
}
