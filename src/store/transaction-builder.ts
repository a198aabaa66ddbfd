/**
 * The writes of one group-commit transaction. Runs synchronously inside an lmdb-js
 * conditional-write callback (see GroupCommitter.commit), so every put lands in the same
 * transaction: offsets are assigned here, batches are encoded (store-built records) or rewritten
 * (client-built batches) and written, segments roll, and the segment rows due are written.
 *
 * Records from different callers to the same partition are coalesced into one RecordBatch (split
 * at `max.message.bytes`), which is what makes small MQTT messages cheap. Client-built batches
 * (Kafka Produce) are stored as they came, with only the base offset and partition leader epoch
 * rewritten (neither is covered by the CRC).
 */
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
import { sameTransaction, type AbortedTxnEntry, type LmdbEnv, type SegmentMeta } from './lmdb-env.js';
import { ProducerTable, producerBatch, type ProducerBatch } from './producer-table.js';
import type { PendingAppend } from './pending-append.js';
import { producerSnapshotWrite, type PartitionState } from './partition.js';
import { compacts, type TopicConfig, type TopicCompression } from './topic-config.js';

/**
 * The active segment's row is rewritten once it has grown this much since it was last written,
 * which bounds what `loadPartition` reads back at open to recover it after a crash.
 */
export const CHECKPOINT_BYTES = 1024 * 1024;

export class TransactionBuilder {
  /** Bytes and records of the batches written. */
  bytes = 0;
  records = 0;
  /** Key of the last batch written: a transaction issued behind this one applies only if it is stored. */
  lastBatchKey: Buffer | undefined;
  /** Each partition written to, with the next offset once this transaction is durable. */
  readonly touched = new Map<PartitionState, number>();
  /**
   * Segment rows this transaction writes: at a roll, the sealed segment's final row and the new
   * one's first; otherwise none, unless the active segment is due a checkpoint.
   */
  private readonly rows = new Map<PartitionState, SegmentMeta[]>();

  constructor(
    private readonly env: LmdbEnv,
    private readonly now: number,
  ) {}

  /** Issues every write of the transaction carrying `appends`, giving each its offsets. */
  build(appends: PendingAppend[]): void {
    for (const [partition, list] of groupByPartition(appends)) this.writePartition(partition, list);
    for (const a of appends) a.alsoWrite?.();
    this.checkpointGrownSegments();
    this.writeSegmentRows();
  }

  /** Store-built appends in a row share batches; a client-built one is written as it came. */
  private writePartition(partition: PartitionState, list: PendingAppend[]): void {
    let pending: PendingAppend[] = [];
    let pendingBytes = RECORD_BATCH_OVERHEAD;
    for (const a of list) {
      if (a.records !== undefined) {
        if (pending.length > 0 && pendingBytes + a.bytes > a.config['max.message.bytes']) {
          this.writeStoreBuilt(partition, pending);
          pending = [];
          pendingBytes = RECORD_BATCH_OVERHEAD;
        }
        pending.push(a);
        pendingBytes += a.bytes;
        continue;
      }
      this.writeStoreBuilt(partition, pending);
      pending = [];
      pendingBytes = RECORD_BATCH_OVERHEAD;
      this.writeClientBuilt(partition, a);
    }
    this.writeStoreBuilt(partition, pending);
  }

  /** Encodes the records of `pending` (appends to one partition) into one batch and writes it. */
  private writeStoreBuilt(partition: PartitionState, pending: PendingAppend[]): void {
    if (pending.length === 0) return;
    const config = pending[0]!.config;
    const all: RecordInput[] = [];
    let maxTimestamp = -1;
    let offset = partition.nextOffset;
    for (const a of pending) {
      for (const r of a.records!) {
        // Records without a timestamp get `now` from the encoder: no per-record copy.
        const timestamp = r.timestamp ?? this.now;
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
      now: this.now,
    });
    this.writeBatch(partition, config, batch, all.length, maxTimestamp);
    // The append waits for its flush for milliseconds; what it holds on to meanwhile is what the
    // young-generation GC has to copy.
    for (const a of pending) a.records = undefined;
  }

  /** Writes a client-built record set, its batches' base offsets rewritten. */
  private writeClientBuilt(partition: PartitionState, append: PendingAppend): void {
    const baseOffset = partition.nextOffset;
    for (const batch of append.batches!) {
      const header = readBatchHeader(batch);
      const offset = partition.nextOffset;
      setBaseOffset(batch, offset);
      setPartitionLeaderEpoch(batch, 0);
      this.writeBatch(partition, append.config, batch, header.lastOffsetDelta + 1, header.maxTimestamp);
      if (header.producerId >= 0) this.recordProducer(partition, producerBatch(header, offset, batch));
    }
    append.baseOffset = baseOffset;
    append.lastOffset = partition.nextOffset - 1;
  }

  /**
   * Keeps the partition's producer table in step with its log; an ABORT marker also gets its
   * entry in the aborted-transaction index, in the marker's own transaction.
   */
  private recordProducer(partition: PartitionState, batch: ProducerBatch): void {
    const abortedFirstOffset = (partition.producers ??= new ProducerTable()).record(batch, this.now);
    if (abortedFirstOffset === undefined) return;
    const entry: AbortedTxnEntry = { producerId: batch.producerId, firstOffset: abortedFirstOffset };
    sameTransaction(this.env.txnIndex.put(logKey(partition.id, batch.baseOffset), entry));
  }

  /** Puts one batch at the partition's next offset, rolling the active segment if it is due. */
  private writeBatch(partition: PartitionState, config: TopicConfig, batch: Buffer, count: number, maxTimestamp: number): void {
    const baseOffset = partition.nextOffset;
    const segment = this.segmentFor(partition, config, batch.length);
    const key = logKey(partition.id, baseOffset);
    sameTransaction(this.env.batches.put(key, batch));
    this.lastBatchKey = key;
    segment.nextOffset = baseOffset + count;
    segment.bytes += batch.length;
    segment.maxTimestamp = Math.max(segment.maxTimestamp, maxTimestamp);
    partition.nextOffset += count;
    partition.sizeBytes += batch.length;
    this.touched.set(partition, partition.nextOffset);
    this.bytes += batch.length;
    this.records += count;
  }

  /** The segment a batch of `bytes` goes to: the active one, or a new one when it must roll. */
  private segmentFor(partition: PartitionState, config: TopicConfig, bytes: number): SegmentMeta {
    const baseOffset = partition.nextOffset;
    const active = partition.segments.at(-1);
    if (active !== undefined && !this.mustRoll(active, baseOffset, bytes, config)) return active;
    if (active !== undefined) this.writeRow(partition, active);
    const segment: SegmentMeta = { baseOffset, nextOffset: baseOffset, bytes: 0, createdAt: this.now, maxTimestamp: -1 };
    partition.segments.push(segment);
    this.writeRow(partition, segment);
    return segment;
  }

  /** The batch must start where the active segment ends, within its `segment.bytes` and its age limit. */
  private mustRoll(active: SegmentMeta, baseOffset: number, bytes: number, config: TopicConfig): boolean {
    return (
      active.nextOffset !== baseOffset ||
      (active.bytes > 0 && active.bytes + bytes > config['segment.bytes']) ||
      this.now - active.createdAt >= maxSegmentMs(config)
    );
  }

  private writeRow(partition: PartitionState, segment: SegmentMeta): void {
    let list = this.rows.get(partition);
    if (list === undefined) this.rows.set(partition, (list = []));
    if (!list.includes(segment)) list.push(segment);
  }

  private checkpointGrownSegments(): void {
    for (const partition of this.touched.keys()) {
      const active = partition.segments.at(-1);
      if (active !== undefined && active.bytes - partition.activeRowBytes >= CHECKPOINT_BYTES) this.writeRow(partition, active);
    }
  }

  private writeSegmentRows(): void {
    for (const [partition, segments] of this.rows) {
      for (const s of segments) sameTransaction(this.env.segments.put(logKey(partition.id, s.baseOffset), { ...s }));
      const active = partition.segments.at(-1);
      if (active === undefined || !segments.includes(active)) continue;
      partition.activeRowBytes = active.bytes;
      // The open reads back from the active row's end: the producer snapshot must end there too.
      const snapshot = producerSnapshotWrite(this.env, partition, active.nextOffset);
      if (snapshot !== undefined) sameTransaction(snapshot);
    }
  }
}

/**
 * `segment.ms`, or on a compacted topic `max.compaction.lag.ms` when shorter: the active segment is
 * never compacted, so it must roll for its records to be compacted in time (Kafka's
 * LogConfig.maxSegmentMs, KIP-354).
 */
function maxSegmentMs(config: TopicConfig): number {
  return compacts(config) ? Math.min(config['segment.ms'], config['max.compaction.lag.ms']) : config['segment.ms'];
}

function groupByPartition(appends: PendingAppend[]): Map<PartitionState, PendingAppend[]> {
  const byPartition = new Map<PartitionState, PendingAppend[]>();
  for (const a of appends) {
    let list = byPartition.get(a.partition);
    if (list === undefined) byPartition.set(a.partition, (list = []));
    list.push(a);
  }
  return byPartition;
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
