/**
 * What happens to a sent batch when its answer comes (producer.ts sends it).
 *
 * Per batch (partition-queue.ts has the order rule):
 * - acknowledged (or DUPLICATE_SEQUENCE_NUMBER: already written) → reported done;
 * - retriable (leader moved, timeout, connection lost: outcome unknown) → sent again, same bytes
 *   and sequence, after the partition's in-flight batches are answered; never reported;
 * - refused before anything was written (too large, not authorised, …: produce-errors.ts) →
 *   reported with the broker's error code; every later batch of the partition is reported failed
 *   unsent (OUT_OF_ORDER_SEQUENCE_NUMBER would refuse it anyway) and the partition's sequence
 *   goes back to the refused batch's;
 * - the broker lost the producer's state (UNKNOWN_PRODUCER_ID, OUT_OF_ORDER_SEQUENCE_NUMBER with
 *   nothing missing before it, a fenced epoch), or any other error after which the batch may have
 *   been written → a new producer id (a new session): every batch not yet acknowledged is
 *   reported failed, so the caller sends it again from its own log.
 * Failures are reported, never dropped: the caller's cursor only moves over acknowledged records.
 */
import type { BatchBuilder, SealedBatch } from './batch-builder.js';
import type { ClusterMetadata } from './cluster.js';
import { addSequence, type OutBatch, type PartitionQueue } from './partition-queue.js';
import { DUPLICATE_SEQUENCE, LEADER_MOVED, OUT_OF_ORDER_SEQUENCE, REFUSED_BEFORE_WRITE, RETRIABLE, type DeliveryError } from './produce-errors.js';
import type { ProducerSessions } from './session.js';

export interface OutcomeDeps {
  readonly sessions: ProducerSessions;
  readonly cluster: ClusterMetadata;
  readonly backoffMinMs: number;
  /** Seals a partition's open batch (it is failed with the rest). */
  seal(b: BatchBuilder): SealedBatch;
  queues(): Iterable<PartitionQueue>;
  closed(): boolean;
  report(err: DeliveryError | null, opaques: readonly unknown[]): void;
  problem(err: Error, what: string): void;
}

export class BatchOutcomes {
  constructor(private readonly d: OutcomeDeps) {}

  /** What a sent batch's answer (`code` 0, or an error and its message) does to it and its partition. */
  outcome(q: PartitionQueue, batch: OutBatch, code: number, message: string): void {
    if (this.d.closed()) return;
    if (code === 0 || code === DUPLICATE_SEQUENCE) {
      // A batch written after the refused one (a broker that checks sequences before it writes): the sequence goes on after it.
      if (q.halted === 'fail' && batch.session === this.d.sessions.current?.id) q.rewindSequence = addSequence(batch.baseSequence, batch.count);
      return this.d.report(null, batch.opaques);
    }
    const current = batch.session === this.d.sessions.current?.id;
    if (!current) return this.d.report({ code, message: `not sent in the producer session that ended: ${message}` }, batch.opaques);
    if (q.halted === 'fail') {
      this.d.report({ code: -1, message: 'not sent: an earlier batch of this partition was refused' }, batch.opaques);
      return;
    }
    if (RETRIABLE.has(code) || (code === OUT_OF_ORDER_SEQUENCE && q.halted === 'retry')) {
      q.requeue(batch);
      q.halted = 'retry';
      q.resumeAt = performance.now() + this.d.backoffMinMs;
      if (LEADER_MOVED.has(code)) {
        // Sent again once metadata names the leader, not to the broker that just said it is not.
        q.leader = -1;
        this.d.cluster.markStale();
      }
      if (code !== OUT_OF_ORDER_SEQUENCE) this.d.problem(new Error(message), `upstream did not take a batch of ${q.topic}[${q.partition}]; sending it again`);
      return;
    }
    if (!REFUSED_BEFORE_WRITE.has(code)) {
      // The broker lost the session, or the batch may have been written: a new producer id.
      this.d.report({ code, message }, batch.opaques);
      this.resetSession(message);
      return;
    }
    this.d.report({ code, message }, batch.opaques);
    // Later batches fail (the broker would refuse them: a gap in the sequence); earlier ones
    // waiting to be sent again keep their sequences and go first.
    for (const b of q.takeUnsent(this.d.seal, batch.ordinal)) this.d.report({ code: -1, message: 'not sent: an earlier batch of this partition was refused' }, b.opaques);
    q.rewindSequence = batch.baseSequence;
    q.halted = 'fail';
  }

  /**
   * Reports every batch of `q` that is not in flight as failed. A batch stamped in this session was
   * sent before and waits to be sent again: it may have been written, so its sequence cannot be
   * given to other records, and dropping it would leave a gap. Then the session ends instead
   * (everything unacknowledged goes back to the caller).
   */
  failUnsent(q: PartitionQueue, err: DeliveryError): void {
    const taken = q.takeUnsent(this.d.seal);
    for (const b of taken) this.d.report(err, b.opaques);
    if (taken.some((b) => b.session === this.d.sessions.current?.id)) this.resetSession(`${err.message}, with batches of ${q.topic}[${q.partition}] waiting to be sent again`);
  }

  /** The broker lost this producer: a new id; what is not acknowledged goes back to the caller. */
  private resetSession(reason: string): void {
    this.d.problem(new Error(reason), 'the upstream lost the producer session; starting a new one and sending again from the cursors');
    this.d.sessions.end();
    for (const q of this.d.queues()) {
      q.halted = undefined;
      q.rewindSequence = undefined;
      this.failUnsent(q, { code: -1, message: `not sent: producer session reset (${reason})` });
    }
  }
}
