/**
 * One partition's producers, as its log says (Kafka's ProducerStateManager): for each idempotent
 * or transactional producer id, its epoch, its last batches' sequence ranges and offsets (so a
 * re-sent batch is recognised after a restart, KIP-98), and the first offset of its open
 * transaction (which holds the last stable offset back).
 *
 * Built from the batches as they are written (transaction-builder.ts) and, at open, from a
 * snapshot plus the batches after it (partition.ts, loadPartition). The snapshot is written with
 * the active segment's row — at a roll, at a checkpoint, at close — in the same transaction, so
 * it covers exactly the batches below the offset the open reads back from: a crash leaves
 * nothing between the two, and the snapshot costs the flash nothing per commit.
 *
 * A transaction ended by a marker that is not yet durable still holds the last stable offset
 * back (Kafka's "unreplicated transactions"): a crash could take the marker back, and a
 * read_committed consumer must never read records that might yet be aborted.
 */
import { controlRecordType } from '../kafka/protocol/control-batch.js';
import type { BatchHeader } from '../kafka/protocol/record-batch.js';
import type { StoredProducerState } from './types.js';

/** Kafka keeps the last 5 batches per producer and partition (max.in.flight ≤ 5 with idempotence). */
export const RETAINED_BATCHES = 5;
/**
 * Producers remembered per partition; past it the one that wrote longest ago (with no open
 * transaction) is forgotten first. Kafka has no cap; expiry alone bounds it there.
 */
export const MAX_PRODUCERS_PER_PARTITION = 10_000;

/** What a batch tells the table: its header fields and where it was written. */
export interface ProducerBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
  isTransactional: boolean;
  baseOffset: number;
  /** For a control batch: CONTROL_TYPE_ABORT (0) or CONTROL_TYPE_COMMIT (1); otherwise null. */
  controlType: number | null;
}

/** The stored form: [producerId, epoch, txnFirstOffset, lastWriteAt, ...5 × batch fields]. */
export interface ProducerSnapshot {
  /** The snapshot covers every batch below this offset. */
  offset: number;
  producers: [number, StoredProducerState][];
}

interface UnstableEnd {
  firstOffset: number;
  markerOffset: number;
}

export class ProducerTable {
  private readonly producers = new Map<number, StoredProducerState>();
  /** Transactions whose marker is written but not yet durable, in marker order. */
  private readonly endsInFlight: UnstableEnd[] = [];
  private openTransactions = 0;

  get size(): number {
    return this.producers.size;
  }

  /**
   * Records a batch written at `batch.baseOffset`. Returns the aborted transaction's first
   * offset when the batch is an ABORT marker that closed one (for the aborted-transaction index).
   */
  record(batch: ProducerBatch, now: number): number | undefined {
    let state = this.producers.get(batch.producerId);
    if (state !== undefined && state.batches.length > 0 && batch.baseOffset <= state.batches.at(-1)!.lastOffset) {
      return undefined; // Already in the snapshot (replay from an older row).
    }
    if (state === undefined || batch.producerEpoch > state.producerEpoch) {
      state = { producerEpoch: batch.producerEpoch, batches: [], txnFirstOffset: state?.txnFirstOffset ?? -1, lastWriteAt: now };
    }
    this.producers.delete(batch.producerId);
    this.producers.set(batch.producerId, state); // most recently written last, for eviction
    state.lastWriteAt = now;
    if (batch.controlType !== null) return this.endTransaction(state, batch);
    const lastOffset = batch.baseOffset + batch.lastOffsetDelta;
    state.batches.push({ firstSeq: batch.baseSequence, lastSeq: lastSequence(batch), firstOffset: batch.baseOffset, lastOffset });
    if (state.batches.length > RETAINED_BATCHES) state.batches.shift();
    if (batch.isTransactional && state.txnFirstOffset < 0) {
      state.txnFirstOffset = batch.baseOffset;
      this.openTransactions++;
    }
    this.evictOverCap();
    return undefined;
  }

  get(producerId: number): StoredProducerState | undefined {
    return this.producers.get(producerId);
  }

  /** Forgets producers that last wrote before `now - expirationMs` and have no open transaction. */
  expire(now: number, expirationMs: number): void {
    for (const [id, state] of this.producers) {
      if (state.txnFirstOffset < 0 && now - state.lastWriteAt > expirationMs) this.producers.delete(id);
    }
  }

  /** The first offset a read_committed reader must not pass, given the high watermark. */
  lastStableOffset(highWatermark: number): number {
    while (this.endsInFlight.length > 0 && this.endsInFlight[0]!.markerOffset < highWatermark) this.endsInFlight.shift();
    let lso = highWatermark;
    for (const end of this.endsInFlight) lso = Math.min(lso, end.firstOffset);
    if (this.openTransactions === 0) return lso;
    for (const state of this.producers.values()) if (state.txnFirstOffset >= 0) lso = Math.min(lso, state.txnFirstOffset);
    return lso;
  }

  snapshot(offset: number): ProducerSnapshot {
    return { offset, producers: [...this.producers] };
  }

  static fromSnapshot(snapshot: ProducerSnapshot): ProducerTable {
    const table = new ProducerTable();
    for (const [id, state] of snapshot.producers) {
      table.producers.set(id, state);
      if (state.txnFirstOffset >= 0) table.openTransactions++;
    }
    return table;
  }

  private endTransaction(state: StoredProducerState, marker: ProducerBatch): number | undefined {
    // A marker always takes the marker's epoch: the coordinator bumps it to fence a zombie.
    state.producerEpoch = marker.producerEpoch;
    const firstOffset = state.txnFirstOffset;
    if (firstOffset < 0) return undefined;
    state.txnFirstOffset = -1;
    this.openTransactions--;
    this.endsInFlight.push({ firstOffset, markerOffset: marker.baseOffset });
    return marker.controlType === 0 ? firstOffset : undefined;
  }

  private evictOverCap(): void {
    if (this.producers.size <= MAX_PRODUCERS_PER_PARTITION) return;
    for (const [id, state] of this.producers) {
      if (state.txnFirstOffset >= 0) continue;
      this.producers.delete(id);
      return;
    }
  }
}

/** The batch's last sequence; sequences wrap from 2^31 - 1 to 0 (DefaultRecordBatch.incrementSequence). */
function lastSequence(batch: ProducerBatch): number {
  const max = 0x7fffffff;
  const by = batch.lastOffsetDelta;
  return batch.baseSequence > max - by ? by - (max - batch.baseSequence) - 1 : batch.baseSequence + by;
}

/** What the table needs of a stored batch (`batch` is read only for a control batch's type). */
export function producerBatch(header: BatchHeader, baseOffset: number, batch: Buffer): ProducerBatch {
  return {
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    lastOffsetDelta: header.lastOffsetDelta,
    isTransactional: header.isTransactional,
    baseOffset,
    controlType: header.isControl ? controlRecordType(batch) : null,
  };
}
