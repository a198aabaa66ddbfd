/**
 * What a read_committed consumer keeps of a fetch (KIP-98; Java's `Fetcher`, librdkafka's
 * msgset reader): control batches (transaction markers) are never returned, and a producer's
 * transactional batches are dropped from the first offset of an aborted transaction listed for
 * the fetch up to that producer's ABORT marker. The mirror reads its partitions so: it sends
 * committed records as ordinary ones, and never an aborted record or a marker.
 */
import { CONTROL_TYPE_ABORT, controlRecordType } from '../../src/kafka/protocol/control-batch.js';
import type { BatchHeader } from '../../src/kafka/protocol/record-batch.js';
import type { AbortedTransaction } from '../../src/store/types.js';

export class CommittedFilter {
  /** Aborted transactions not reached yet, the lowest first offset last. */
  private readonly upcoming: AbortedTransaction[];
  /** Producers inside an aborted transaction at the reader's position, until their ABORT marker. */
  private readonly aborting = new Set<number>();

  /** `aborted`: the store's aborted transactions for the read (marker at or after its first offset). */
  constructor(aborted: readonly AbortedTransaction[]) {
    this.upcoming = [...aborted].sort((a, b) => b.firstOffset - a.firstOffset);
  }

  /** Whether the batch met next, in offset order, is left out: a marker, or a batch of an aborted transaction. */
  skips(header: BatchHeader, batch: Buffer): boolean {
    const last = header.baseOffset + header.lastOffsetDelta;
    while (this.upcoming.length > 0 && this.upcoming.at(-1)!.firstOffset <= last) this.aborting.add(this.upcoming.pop()!.producerId);
    if (header.isControl) {
      if (controlRecordType(batch) === CONTROL_TYPE_ABORT) this.aborting.delete(header.producerId);
      return true;
    }
    return header.isTransactional && this.aborting.has(header.producerId);
  }
}
