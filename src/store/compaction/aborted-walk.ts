/**
 * Which batches of a walk in offset order hold records of an aborted transaction (Kafka's
 * `CleanedTransactionMetadata`), from the aborted-transaction index: a producer's transactional
 * batches from an aborted transaction's first offset up to its ABORT marker are aborted.
 *
 * The log cleaner uses it twice: the map never takes an aborted record as a key's latest value
 * (it would otherwise remove the committed value before it), and the clean step removes aborted
 * records, as Kafka's cleaner does: no read_committed consumer ever returns them.
 *
 * Every transaction the walk can meet has ended: the clean range stops before the last stable
 * offset (clean-plan.ts), so every ABORT marker of a transaction in it is durable, and its index
 * row with it (written in the marker's transaction). The index holds one row per aborted
 * transaction still in the log, and aborts are rare, so a pass loads the rows it needs at once.
 * The marker's offset comes from the index, not from meeting the marker: a walk that skips ahead
 * (retention deleted segments between two chunks) still ends each aborted range where it ends.
 */
import { readBatchHeader } from '../../kafka/protocol/record-batch.js';
import type { AbortedRange } from '../aborted-txn-index.js';
import type { StoredBatch } from './stored-batch.js';

export class AbortedTransactionWalk {
  /** Aborted transactions the walk has not reached yet, the lowest first offset last. */
  private readonly upcoming: AbortedRange[];
  /** Producer id → its ABORT marker's offset, for producers inside an aborted transaction. */
  private readonly inside = new Map<number, number>();

  /** `aborted`: the index's transactions whose marker is at or after the walk's first batch. */
  constructor(aborted: readonly AbortedRange[]) {
    this.upcoming = [...aborted].sort((a, b) => b.firstOffset - a.firstOffset);
  }

  /** Whether `batch`, the walk's next batch, holds records of an aborted transaction. */
  aborted(batch: StoredBatch): boolean {
    const header = readBatchHeader(batch.value);
    const last = batch.baseOffset + header.lastOffsetDelta;
    while (this.upcoming.length > 0 && this.upcoming.at(-1)!.firstOffset <= last) {
      const next = this.upcoming.pop()!;
      this.inside.set(next.producerId, next.markerOffset);
    }
    if (header.isControl || !header.isTransactional) return false;
    const marker = this.inside.get(header.producerId);
    if (marker === undefined) return false;
    if (batch.baseOffset < marker) return true;
    this.inside.delete(header.producerId);
    return false;
  }
}
