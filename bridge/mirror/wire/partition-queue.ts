/**
 * What the producer holds for one upstream partition: the batch being filled, the sealed batches
 * waiting to go (in sequence order), how many are in flight and on which broker, and the next
 * sequence number of the idempotent producer session (KIP-98).
 *
 * The order rule: a partition's batches are sent in sequence order, at most one a request and at
 * most MAX_IN_FLIGHT_BATCHES at a time (the broker remembers the last five batches of a producer
 * and partition, so any batch whose outcome is unknown is still among them when it is sent again
 * and is answered as the duplicate it is instead of being written twice). A batch sent again is
 * sent as the same bytes with the same sequence; it is never renumbered within a session, which
 * is how an idempotent producer loses records when it is (kafkajs's issue #1005).
 */
import { BatchBuilder, type SealedBatch } from './batch-builder.js';

export const MAX_IN_FLIGHT_BATCHES = 5;

export interface OutBatch extends SealedBatch {
  /** What the caller handed in with each record, reported back in order. */
  readonly opaques: unknown[];
  /** Seal order within the partition: the order batches are sent in. */
  readonly ordinal: number;
  /** The producer session the batch was stamped in (-1: not yet). */
  session: number;
  baseSequence: number;
}

/** Kafka sequences are int32 and wrap to 0 past Integer.MAX_VALUE (DefaultRecordBatch.incrementSequence). */
export function addSequence(sequence: number, count: number): number {
  return (sequence + count) % 2 ** 31;
}

export class PartitionQueue {
  /** Leader's node id from metadata; -1 while unknown. */
  leader = -1;
  open: BatchBuilder | undefined;
  openOpaques: unknown[] = [];
  openedAt = 0;
  /** Sealed, not in flight, in sequence order (stamped ones first). */
  readonly queued: OutBatch[] = [];
  inFlight = 0;
  /** The broker the in-flight batches went to. */
  inFlightNode = -1;
  /** Sequence of the next batch stamped in `session`. */
  nextSequence = 0;
  session = -1;
  /**
   * Set after a failure: nothing is sent until every in-flight batch is answered. 'retry': send
   * the batches again (same bytes) once the partition may go on; 'fail': a batch was refused, so
   * everything after it is reported failed and the sequence goes back to the refused batch's.
   */
  halted: 'retry' | 'fail' | undefined;
  /** When a halted partition may send again. */
  resumeAt = 0;
  /** After a refusal: the sequence the next stamped batch takes once the partition is drained. */
  rewindSequence: number | undefined;
  private sealed = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Whether a batch can go to `node` now. */
  canSend(node: number, now: number): boolean {
    if (this.queued.length === 0 || this.leader !== node) return false;
    if (this.halted !== undefined && (this.inFlight > 0 || now < this.resumeAt)) return false;
    if (this.inFlight >= MAX_IN_FLIGHT_BATCHES) return false;
    return this.inFlight === 0 || this.inFlightNode === node;
  }

  /** Moves the open batch to the queue; returns false when there was none. */
  seal(seal: (b: BatchBuilder) => SealedBatch): boolean {
    const open = this.open;
    if (open === undefined || open.count === 0) return false;
    this.queued.push({ ...seal(open), opaques: this.openOpaques, ordinal: this.sealed++, session: -1, baseSequence: -1 });
    this.open = undefined;
    this.openOpaques = [];
    return true;
  }

  /** A sent batch came back to be sent again: back into the queue in sequence order. */
  requeue(batch: OutBatch): void {
    let i = 0;
    while (i < this.queued.length && this.queued[i]!.ordinal < batch.ordinal) i++;
    this.queued.splice(i, 0, batch);
  }

  /**
   * The batches not in flight (queued and open), taken out to be reported failed; with `after`,
   * only those sealed after that ordinal (earlier ones waiting to be sent again stay).
   */
  takeUnsent(seal: (b: BatchBuilder) => SealedBatch, after = -1): OutBatch[] {
    this.seal(seal);
    const keep = this.queued.filter((b) => b.ordinal <= after);
    const taken = this.queued.filter((b) => b.ordinal > after);
    this.queued.splice(0, this.queued.length, ...keep);
    return taken;
  }
}
