/**
 * One topic-partition: its in-memory offsets and segment list, reads from LMDB, and the long-poll
 * waiters that an append wakes.
 *
 * Three offsets matter, as in Kafka:
 *   logStartOffset  ≤  highWatermark  ≤  nextOffset
 * `nextOffset` counts offsets handed to appends in flight; `highWatermark` only moves once the
 * transaction holding those offsets is flushed to disk, and readers never see past it, so a
 * consumer can never read a record that a crash could still take back.
 */
import { WeirError } from '../errors.js';
import { decodeRecordBatch, readBatchHeader } from '../kafka/protocol/record-batch.js';
import type { Logger } from '../logger.js';
import { logKey, offsetOfLogKey, partitionEndKey } from './keys.js';
import { TxnWrites, type LmdbEnv, type SegmentMeta } from './lmdb-env.js';
import { ProducerTable, producerBatch } from './producer-table.js';
import type { CompactionStatus, PartitionInfo, ReadResult } from './types.js';

interface Waiter {
  offset: number;
  /** Waits for the last stable offset, not the high watermark, to pass `offset`. */
  committed: boolean;
  wake(ready: boolean): void;
}

/** Cap on long-poll waiters per partition: a flood of fetches gets an immediate empty answer. */
const MAX_WAITERS_PER_PARTITION = 10_000;

export class PartitionState {
  /** Offsets handed out, including appends not yet durable. */
  nextOffset: number;
  /** One past the last durable offset. */
  highWatermark: number;
  logStartOffset: number;
  /** Oldest first; the last one is the active segment that appends go to. */
  readonly segments: SegmentMeta[];
  sizeBytes: number;
  /**
   * Bytes of the active segment as its stored row says. Commits do not rewrite that row (flash
   * wear); they rewrite it once the segment has grown CHECKPOINT_BYTES past this
   * (transaction-builder.ts).
   */
  activeRowBytes: number;
  /**
   * Idempotent and transactional producers seen in this partition; made on first use (MQTT-only
   * partitions never have any). See producer-table.ts.
   */
  producers: ProducerTable | undefined;
  /** Whether a producer snapshot row is stored for this partition (it must then be kept current). */
  hasProducerSnapshot = false;
  /** Appends queued or being committed for this partition. */
  private pendingAppends = 0;
  /**
   * Both made on first use: a data directory can hold tens of thousands of partitions that
   * nobody waits on, and an empty Set costs about 100 bytes each.
   */
  private settledWaiters: (() => void)[] | undefined;
  private waiters: Set<Waiter> | undefined;

  constructor(
    private readonly env: LmdbEnv,
    readonly id: number,
    readonly topic: string,
    readonly partition: number,
    state: { nextOffset: number; logStartOffset: number; segments: SegmentMeta[] },
  ) {
    this.nextOffset = state.nextOffset;
    this.highWatermark = state.nextOffset;
    this.logStartOffset = state.logStartOffset;
    this.segments = state.segments;
    this.sizeBytes = state.segments.reduce((sum, s) => sum + s.bytes, 0);
    this.activeRowBytes = state.segments.at(-1)?.bytes ?? 0;
  }

  appendQueued(): void {
    this.pendingAppends++;
  }

  appendSettled(): void {
    if (--this.pendingAppends === 0 && this.settledWaiters !== undefined) for (const wake of this.settledWaiters.splice(0)) wake();
  }

  /** Resolves once no append to this partition is queued or being committed. */
  whenAppendsSettled(): Promise<void> {
    if (this.pendingAppends === 0) return Promise.resolve();
    return new Promise((resolve) => (this.settledWaiters ??= []).push(resolve));
  }

  /** Takes over state freshly loaded from disk (after a failed commit), keeping the waiters. */
  adopt(fresh: PartitionState): void {
    this.nextOffset = fresh.nextOffset;
    this.highWatermark = fresh.highWatermark;
    this.logStartOffset = fresh.logStartOffset;
    this.segments.splice(0, this.segments.length, ...fresh.segments);
    this.sizeBytes = fresh.sizeBytes;
    this.activeRowBytes = fresh.activeRowBytes;
    this.producers = fresh.producers;
    this.hasProducerSnapshot = fresh.hasProducerSnapshot;
  }

  /**
   * The last stable offset (KIP-98): where read_committed readers stop. Never below the log
   * start: retention or DeleteRecords may delete an open transaction's first records, and Kafka
   * then takes the log start as the first unstable offset (`maybeIncrementFirstUnstableOffset`).
   */
  lastStableOffset(): number {
    if (this.producers === undefined) return this.highWatermark;
    return Math.max(this.logStartOffset, this.producers.lastStableOffset(this.highWatermark));
  }

  /** Called when the transaction holding offsets below `offset` is durable. */
  advanceHighWatermark(offset: number): void {
    if (offset <= this.highWatermark) return;
    this.highWatermark = offset;
    if (this.waiters === undefined || this.waiters.size === 0) return;
    const stable = this.lastStableOffset();
    for (const waiter of this.waiters) {
      if (waiter.offset < (waiter.committed ? stable : offset)) waiter.wake(true);
    }
  }

  /** Batches from `offset`; read_committed (`committed`) stops at the last stable offset. */
  read(offset: number, maxBytes: number, committed = false): ReadResult {
    const highWatermark = this.highWatermark;
    const lastStableOffset = this.lastStableOffset();
    const end = committed ? lastStableOffset : highWatermark;
    const logStartOffset = this.logStartOffset;
    if (offset < logStartOffset || offset > highWatermark) {
      throw new WeirError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${offset} is out of range for ${this.topic}-${this.partition} [${logStartOffset}, ${highWatermark}]`,
        { details: { topic: this.topic, partition: this.partition, offset, logStartOffset, highWatermark } },
      );
    }
    const batches: Buffer[] = [];
    let bytes = 0;
    if (offset >= end) return { batches, bytes, logStartOffset, highWatermark, lastStableOffset };

    // Start at the batch that contains `offset`: the last batch whose base offset is ≤ offset.
    // After compaction that batch may end below `offset` (the batch holding it was removed
    // whole): Kafka starts at the first batch whose last offset is ≥ the fetch offset, so a fetch
    // in a removed range continues at the next batch present.
    const start = this.batchKeyAtOrBefore(offset) ?? logKey(this.id, offset);
    for (const { key, value } of this.env.batches.getRange({ start, end: logKey(this.id, end) })) {
      if (batches.length === 0 && endsBefore(key, value, offset)) continue;
      // KIP-74: the first batch is returned whole even when it is larger than maxBytes.
      if (batches.length > 0 && bytes + value.length > maxBytes) break;
      batches.push(value);
      bytes += value.length;
      if (bytes >= maxBytes) break;
    }
    return { batches, bytes, logStartOffset, highWatermark, lastStableOffset };
  }

  /** Key of the last stored batch with baseOffset ≤ offset, if any. */
  batchKeyAtOrBefore(offset: number): Buffer | undefined {
    for (const key of this.env.batches.getKeys({ start: logKey(this.id, offset), end: logKey(this.id, 0), reverse: true, limit: 1 })) {
      return Buffer.from(key);
    }
    // getKeys' end is exclusive: a batch at offset 0 itself is looked up directly.
    const zero = logKey(this.id, 0);
    return offset >= 0 && this.env.batches.doesExist(zero) ? zero : undefined;
  }

  /** Last stored batch of this partition (used to check recovery). */
  lastStoredBatch(): { baseOffset: number; nextOffset: number } | undefined {
    const key = this.batchKeyAtOrBefore(Number.MAX_SAFE_INTEGER);
    if (key === undefined) return undefined;
    const value = this.env.batches.get(key);
    if (value === undefined) return undefined;
    const header = readBatchHeader(value);
    const baseOffset = offsetOfLogKey(key);
    return { baseOffset, nextOffset: baseOffset + header.lastOffsetDelta + 1 };
  }

  /**
   * Kafka's ListOffsets by timestamp: the earliest offset whose timestamp is ≥ `timestamp`.
   * Segments and batch headers carry their max timestamp, so only one batch is decoded.
   */
  offsetForTimestamp(timestamp: number): { offset: number; timestamp: number } | null {
    const highWatermark = this.highWatermark;
    for (const segment of this.segments) {
      if (segment.maxTimestamp < timestamp || segment.baseOffset >= highWatermark) continue;
      const start = logKey(this.id, segment.baseOffset);
      const end = logKey(this.id, Math.min(segment.nextOffset, highWatermark));
      for (const { value } of this.env.batches.getRange({ start, end })) {
        if (readBatchHeader(value).maxTimestamp < timestamp) continue;
        for (const record of decodeRecordBatch(value).records) {
          if (record.timestamp >= timestamp && record.offset >= this.logStartOffset) {
            return { offset: record.offset, timestamp: record.timestamp };
          }
        }
      }
    }
    return null;
  }

  waitForData(offset: number, timeoutMs: number, signal?: AbortSignal, committed = false): Promise<boolean> {
    if ((committed ? this.lastStableOffset() : this.highWatermark) > offset) return Promise.resolve(true);
    if (timeoutMs <= 0 || signal?.aborted === true || (this.waiters?.size ?? 0) >= MAX_WAITERS_PER_PARTITION) {
      return Promise.resolve(false);
    }
    const waiters = (this.waiters ??= new Set());
    return new Promise((resolve) => {
      const waiter: Waiter = {
        offset,
        committed,
        wake: (ready) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          waiters.delete(waiter);
          resolve(ready);
        },
      };
      const onAbort = () => waiter.wake(false);
      const timer = setTimeout(() => waiter.wake(false), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      waiters.add(waiter);
    });
  }

  /** Wakes every waiter with "no data" (topic deleted, store closing). */
  releaseWaiters(): void {
    for (const waiter of this.waiters ?? []) waiter.wake(false);
  }
}

/** What describeTopic tells of a partition; `compaction` on a compacted topic only. */
export function partitionInfo(p: PartitionState, compaction: CompactionStatus | undefined): PartitionInfo {
  const info = { partition: p.partition, logStartOffset: p.logStartOffset, highWatermark: p.highWatermark, sizeBytes: p.sizeBytes, segments: p.segments.length };
  return compaction === undefined ? info : { ...info, compaction };
}

/**
 * Builds a partition's in-memory state from disk. Commits write batches, not counters, so the
 * stored rows may be behind the log:
 *   - the next offset is the larger of the partition row (written when the log start moves) and
 *     the end of the last stored batch;
 *   - the active segment's row is as of its last roll or checkpoint: the batches stored after
 *     it (at most CHECKPOINT_BYTES, plus one commit) are read back to bring it up to date.
 * Segment rows are written in the transaction that rolls them, so no stored batch lies beyond
 * the last segment.
 */
export function loadPartition(env: LmdbEnv, log: Logger, pid: number, topic: string, partition: number): PartitionState {
  const record = env.partitions.get(pid);
  const segments: SegmentMeta[] = [];
  for (const { value } of env.segments.getRange({ start: logKey(pid, 0), end: partitionEndKey(pid) })) segments.push(value);
  const active = segments.at(-1);
  const rowBytes = active?.bytes ?? 0;
  const snapshot = env.producers.get(pid);
  const producers = { table: snapshot === undefined ? undefined : ProducerTable.fromSnapshot(snapshot), from: snapshot?.offset ?? 0 };
  if (active !== undefined) catchUpSegment(env, pid, active, producers);
  const state = new PartitionState(env, pid, topic, partition, {
    nextOffset: Math.max(record?.nextOffset ?? 0, active?.nextOffset ?? 0),
    logStartOffset: record?.logStartOffset ?? 0,
    segments,
  });
  state.activeRowBytes = rowBytes;
  state.producers = producers.table;
  state.hasProducerSnapshot = snapshot !== undefined;
  const last = state.lastStoredBatch();
  if (last !== undefined && last.nextOffset > state.nextOffset) {
    // Cannot happen while every stored batch lies in a segment; repair anyway.
    log.warn({ topic, partition, stored: last.nextOffset, segments: state.nextOffset }, 'batches stored past the last segment; next offset repaired');
    state.nextOffset = state.highWatermark = last.nextOffset;
    if (active !== undefined) active.nextOffset = last.nextOffset;
  }
  return state;
}

/**
 * Adds to a segment's row the batches stored at or after its `nextOffset`, and to the producer
 * table the producers' batches at or after its snapshot's offset (the same offset, unless the
 * row was written without a snapshot because the partition had no producers then).
 */
function catchUpSegment(env: LmdbEnv, pid: number, segment: SegmentMeta, producers: { table: ProducerTable | undefined; from: number }): void {
  const rowEnd = segment.nextOffset;
  const now = Date.now();
  const start = producers.table === undefined ? rowEnd : Math.min(rowEnd, producers.from);
  for (const { key, value } of env.batches.getRange({ start: logKey(pid, start), end: partitionEndKey(pid) })) {
    const header = readBatchHeader(value);
    const baseOffset = offsetOfLogKey(key);
    if (header.producerId >= 0 && baseOffset >= producers.from) {
      producers.table ??= new ProducerTable();
      producers.table.record(producerBatch(header, baseOffset, value), now);
    }
    if (baseOffset < rowEnd) continue;
    segment.nextOffset = baseOffset + header.lastOffsetDelta + 1;
    segment.bytes += value.length;
    segment.maxTimestamp = Math.max(segment.maxTimestamp, header.maxTimestamp);
  }
}

/** Whether the stored batch at `key` holds only offsets below `offset`. */
function endsBefore(key: Buffer, value: Buffer, offset: number): boolean {
  const baseOffset = offsetOfLogKey(key);
  return baseOffset < offset && baseOffset + readBatchHeader(value).lastOffsetDelta < offset;
}

/**
 * Writes each active segment's row as it stands (at close), so the next open reads nothing back
 * (see loadPartition). Commits leave those rows behind to spare the flash.
 */
export function writeActiveSegmentRows(env: LmdbEnv, partitions: Iterable<PartitionState>): Promise<void> {
  const writes = new TxnWrites();
  for (const p of partitions) {
    const active = p.segments.at(-1);
    if (active === undefined || active.bytes === p.activeRowBytes) continue;
    writes.add(env.segments.put(logKey(p.id, active.baseOffset), { ...active }));
    p.activeRowBytes = active.bytes;
    const snapshot = producerSnapshotWrite(env, p, active.nextOffset);
    if (snapshot !== undefined) writes.add(snapshot);
  }
  return writes.durable();
}

/**
 * The write of the partition's producer snapshot as of `offset`, issued in the caller's
 * transaction beside the active segment's row; none when the partition has never had producers.
 */
export function producerSnapshotWrite(env: LmdbEnv, partition: PartitionState, offset: number): Promise<boolean> | undefined {
  if (partition.producers === undefined && !partition.hasProducerSnapshot) return undefined;
  partition.hasProducerSnapshot = true;
  return env.producers.put(partition.id, (partition.producers ?? new ProducerTable()).snapshot(offset));
}
