/**
 * Group commit: appends from every caller and partition queue up here, and each LMDB write
 * transaction carries as many of them as are waiting (up to a byte cap). Offsets are assigned when
 * a transaction is built, and the batches are written in that one transaction, so a crash can
 * never leave a gap or a duplicate offset. An append is reported done only after its transaction
 * is flushed to disk. When a transaction is made is the flush policy's call (flush-window.ts).
 *
 * Records from different callers to the same partition in one transaction are coalesced into one
 * RecordBatch (split at `max.message.bytes`), which is what makes small MQTT messages cheap.
 * Client-built batches (Kafka Produce) are stored as they came, with only the base offset and
 * partition leader epoch rewritten (neither is covered by the CRC).
 *
 * A transaction writes batches and nothing else, except a segment's row when the segment rolls
 * or has grown CHECKPOINT_BYTES since its row was last written: the next offset and the active
 * segment's counters live in memory and are recovered at open (partition.ts). Each page a commit
 * touches is a page written to flash (lmdb-env.ts).
 *
 * One transaction is outstanding at a time, unless enough waits behind it: each flush then carries
 * everything that arrived during the previous one. Under heavy load the queue passes
 * PIPELINE_BYTES and up to MAX_IN_FLIGHT transactions overlap: with lmdb-js `overlappingSync` the
 * next one is built and committed while the previous one is still being flushed. Each transaction
 * applies only if the last batch of the one before it is stored (`writeIfExists`), so when one
 * fails, those issued behind it cannot commit offsets past the hole it left.
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
import { FlushWindow } from './flush-window.js';
import { logKey } from './keys.js';
import { durable, sameTransaction, writeIfExists, type LmdbEnv, type SegmentMeta } from './lmdb-env.js';
import type { PartitionState } from './partition.js';
import type { TopicConfig, TopicCompression } from './topic-config.js';
import type { AppendWaiter } from './types.js';

const MAX_IN_FLIGHT = 4;
/** Bytes waiting that justify starting a transaction while another is still in flight. */
const PIPELINE_BYTES = 64 * 1024;
/** A transaction stops taking appends past this many bytes, so one commit cannot hog the writer. */
const MAX_COMMIT_BYTES = 1024 * 1024;
/**
 * The active segment's row is rewritten once it has grown this much since it was last written,
 * which bounds what `loadPartition` reads back at open to recover it after a crash.
 */
export const CHECKPOINT_BYTES = 1024 * 1024;
/**
 * A flush window bounds when the ack goes out, not when the commit starts: a commit is started
 * early by about what recent commits took (a decaying maximum, so the tail counts), up to this.
 */
const MAX_COMMIT_LEAD_MS = 250;

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
  /** performance.now() by which a commit carrying this append must start (`flush.ms`). */
  flushDeadline: number;
  /** `flush.messages` of the append's topic. */
  flushMessages: number;
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
  /** What is in `queue`, i.e. not yet in a transaction (`queuedBytes` also counts those in flight). */
  private readonly window = new FlushWindow();
  private inFlight = 0;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private closing = false;
  /** How early a windowed commit starts, ms (see MAX_COMMIT_LEAD_MS). */
  private commitLead = 0;
  private failed = false;
  private recovering = false;
  private readonly idleWaiters: (() => void)[] = [];
  commits = 0;
  /** Key of the last batch the latest transaction writes: one issued behind it applies only if it is stored. */
  private lastBatchKey: Buffer | undefined;

  constructor(
    private readonly env: LmdbEnv,
    private readonly log: Logger,
    private readonly hooks: CommitHooks,
  ) {}

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
    this.window.add(append);
    this.schedule();
  }

  /** From now on every append is due at once, whatever its flush window (the store is closing). */
  flushEverything(): void {
    this.closing = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Infinity;
    this.drain();
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0 && !this.recovering) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled) return;
    if (!this.isDue()) {
      this.armTimer(this.window.msUntilDue(performance.now() + this.commitLead));
      return;
    }
    this.scheduled = true;
    // setImmediate, not a microtask: appends made in the same event-loop turn join one commit.
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  /** Wakes `drain` when the earliest flush deadline passes (one timer, moved earlier as needed). */
  private armTimer(wait: number): void {
    const due = performance.now() + wait;
    if (this.timer !== undefined && this.timerDue <= due) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDue = Infinity;
      this.drain();
    }, Math.ceil(wait));
  }

  private drain(): void {
    while (this.queue.length > 0 && this.isDue() && this.mayStartCommit() && !this.failed && !this.recovering) {
      let bytes = 0;
      let taken = 0;
      while (taken < this.queue.length && (taken === 0 || bytes < MAX_COMMIT_BYTES)) {
        bytes += this.queue[taken]!.bytes;
        taken++;
      }
      const appends = this.queue.splice(0, taken);
      this.window.reset(this.queue);
      // Only a transaction issued behind another one still in flight depends on it. (Retention
      // may delete a settled transaction's batches, never those of one in flight.)
      const dependsOn = this.inFlight === 0 ? undefined : this.lastBatchKey;
      this.inFlight++;
      void this.commit(appends, dependsOn).finally(() => {
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
              // Offsets now come from disk: the next transaction depends on no earlier one.
              this.lastBatchKey = undefined;
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
    if (this.queue.length > 0 && !this.isDue()) this.armTimer(this.window.msUntilDue(performance.now() + this.commitLead));
  }

  private isDue(): boolean {
    return this.closing || this.window.isDue(performance.now() + this.commitLead);
  }

  private mayStartCommit(): boolean {
    return this.inFlight === 0 || (this.inFlight < MAX_IN_FLIGHT && this.window.waitingBytes >= PIPELINE_BYTES);
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

  private async commit(appends: PendingAppend[], dependsOn: Buffer | undefined): Promise<void> {
    const touched = new Map<PartitionState, number>();
    let built: ReturnType<GroupCommitter['build']> | undefined;
    let buildError: unknown;
    // Every write of this transaction is conditional on the previous transaction's last batch
    // being stored: if an earlier transaction failed, this one writes nothing and resolves false.
    const write = writeIfExists(this.env.batches, dependsOn, () => {
      try {
        built = this.build(appends, touched);
      } catch (err) {
        buildError = err;
      }
    });
    if (built === undefined) {
      // Building failed part-way (a codec error): whatever was written for it may commit, so
      // reload offsets from disk rather than guess.
      this.failed = true;
      this.unqueue(appends);
      for (const a of appends) a.waiter.appendSettled(buildError ?? new Error('building the transaction failed'));
      return;
    }
    const { bytes: bytesWritten, records: recordsWritten } = built;
    let payloadBytes = 0;
    for (const a of appends) payloadBytes += a.payloadBytes;
    this.commits++;
    const started = performance.now();
    try {
      await durable(write);
      if ((await write) !== true) throw new Error('an earlier group commit failed, so this one was not applied');
      this.commitLead = Math.min(MAX_COMMIT_LEAD_MS, Math.max(performance.now() - started, this.commitLead * 0.9));
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
    // Segment rows this transaction writes: at a roll, the sealed segment's final row and the new
    // one's first; otherwise none, unless the active segment is due a checkpoint.
    const rows = new Map<PartitionState, SegmentMeta[]>();
    const writeRow = (partition: PartitionState, segment: SegmentMeta) => {
      let list = rows.get(partition);
      if (list === undefined) rows.set(partition, (list = []));
      if (!list.includes(segment)) list.push(segment);
    };
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
        if (segment !== undefined) writeRow(partition, segment);
        segment = { baseOffset, nextOffset: baseOffset, bytes: 0, createdAt: now, maxTimestamp: -1 };
        partition.segments.push(segment);
        writeRow(partition, segment);
      }
      const key = logKey(partition.id, baseOffset);
      sameTransaction(this.env.batches.put(key, batch));
      this.lastBatchKey = key;
      segment.nextOffset = baseOffset + count;
      segment.bytes += batch.length;
      segment.maxTimestamp = Math.max(segment.maxTimestamp, maxTimestamp);
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

    for (const partition of touched.keys()) {
      const active = partition.segments.at(-1);
      if (active !== undefined && active.bytes - partition.activeRowBytes >= CHECKPOINT_BYTES) writeRow(partition, active);
    }
    for (const [partition, segments] of rows) {
      for (const s of segments) sameTransaction(this.env.segments.put(logKey(partition.id, s.baseOffset), { ...s }));
      const active = partition.segments.at(-1);
      if (active !== undefined && segments.includes(active)) partition.activeRowBytes = active.bytes;
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
