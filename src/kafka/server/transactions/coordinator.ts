/**
 * The transaction coordinator (KIP-98; Kafka's TransactionCoordinator on one node, pre
 * KIP-890): InitProducerId with a transactional id, AddPartitionsToTxn, AddOffsetsToTxn,
 * TxnOffsetCommit and EndTxn, and the check that a transactional produce belongs to an open
 * transaction. The state machine is transitions.ts; every transition is written to the store
 * (txn-log.ts) before it is acted on or answered.
 *
 * An end (EndTxn, a fencing InitProducerId, a timeout) waits for the transaction's produce
 * appends under way, then writes the markers, the offsets and Complete* in one LMDB transaction
 * (outcome.ts), and is answered once that is durable: a crash leaves all of it or none.
 *
 * AddPartitionsToTxn and AddOffsetsToTxn are answered before their record reaches the disk (it
 * rides the next flush): what they add is either in the log already — the producer's batches,
 * which the end looks up for a record loaded at start — or in a later durable write (a group in
 * TxnOffsetCommit's record). That saves a flush per transaction; InitProducerId (fencing) and
 * TxnOffsetCommit (offsets) are durable before their answer.
 */
import { isWeirError } from '../../../errors.js';
import type { Timer } from '../groups/clock.js';
import type { AddPartitionsToTxnRequest } from '../../protocol/apis/add-partitions-to-txn.js';
import type { AddOffsetsToTxnRequest } from '../../protocol/apis/add-offsets-to-txn.js';
import type { EndTxnRequest } from '../../protocol/apis/end-txn.js';
import type { TxnOffsetCommitRequest } from '../../protocol/apis/txn-offset-commit.js';
import type { TxnErrorName } from './codes.js';
import { TxnEntries, type Entry } from './entries.js';
import { dueWork } from './housekeeping.js';
import { resolveTxnOptions, type ResolvedTxnOptions, type TransactionCoordinatorOptions } from './options.js';
import { transactionOutcome } from './outcome.js';
import {
  addToTransaction, checkProducer, completed, endTransaction, fencedAbort, holdsAll, initProducerIdTransit, isValidProducerId, newRecord,
  type ExpectedProducer,
} from './transitions.js';
import { TransactionLog } from './txn-log.js';
import { checkTxnOffsets, txnCommitGroupError } from './txn-offsets.js';
import type { TransactionRecord, TxnDecision, TxnError } from './types.js';

export type InitProducerIdResult = { error: TxnErrorName } | { producerId: number; producerEpoch: number };
export type ProduceAdmission = { error: 'INVALID_TXN_STATE' | 'INVALID_PRODUCER_EPOCH'; message: string } | { release: () => void };

export class TransactionCoordinator {
  private readonly options: ResolvedTxnOptions;
  private readonly log: TransactionLog;
  private readonly entries: TxnEntries;
  private timer: Timer | undefined;
  private closed = false;

  constructor(options: TransactionCoordinatorOptions) {
    this.options = resolveTxnOptions(options);
    this.log = new TransactionLog(this.options.store);
    this.entries = new TxnEntries(this.options);
  }

  /**
   * Loads every transactional id. An Ongoing one stays open (its client may still end it) until
   * it times out, counted from when it started.
   */
  async start(): Promise<void> {
    for (const record of this.log.loadAll()) {
      // Ids stored before a lower cap was set are all kept: they are durable state.
      const entry = this.entries.add(record, true)!;
      entry.busy = false;
      entry.loaded = record.state === 'Ongoing';
    }
    this.schedule();
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
  }

  /** Transactional ids held, and what their open transactions hold (for status and tests). */
  stats(): { transactionalIds: number; openEntries: number } {
    return { transactionalIds: this.entries.size, openEntries: this.entries.openEntries };
  }

  /** The record of a transactional id, as last written (for tests and status). */
  describe(transactionalId: string): TransactionRecord | undefined {
    return this.entries.get(transactionalId)?.record;
  }

  async initProducerId(transactionalId: string, timeoutMs: number, expected: ExpectedProducer | null): Promise<InitProducerIdResult> {
    if (this.closed) return { error: 'GROUP_COORDINATOR_NOT_AVAILABLE' };
    if (transactionalId === '') return { error: 'INVALID_REQUEST' };
    if (timeoutMs <= 0 || timeoutMs > this.options.maxTimeoutMs) return { error: 'INVALID_TRANSACTION_TIMEOUT' };
    const existing = this.entries.get(transactionalId);
    if (existing === undefined) return this.createId(transactionalId, timeoutMs);
    if (existing.busy) return { error: 'CONCURRENT_TRANSACTIONS' };
    return this.guarded(existing, async (): Promise<InitProducerIdResult> => {
      if (existing.record.state === 'Ongoing') {
        // A new producer with this id: the old one's open transaction is aborted, its epoch fenced.
        if (expected !== null && !isValidProducerId(existing.record, expected)) return { error: 'PRODUCER_FENCED' };
        const aborted = await this.finish(existing, fencedAbort(existing.record));
        if (aborted !== null) return { error: aborted };
        this.options.logger.info({ transactionalId }, 'transaction aborted: a producer initialised the same transactional.id');
      }
      const next = initProducerIdTransit(existing.record, expected, timeoutMs, this.now(), this.options.newProducerId);
      if ('error' in next) return next;
      const failed = await this.write(existing, next.record);
      return failed ?? { producerId: next.record.producerId, producerEpoch: next.record.producerEpoch };
    });
  }

  private async createId(transactionalId: string, timeoutMs: number): Promise<InitProducerIdResult> {
    const record = newRecord(transactionalId, this.options.newProducerId(), timeoutMs, this.now());
    const entry = this.entries.add(record);
    if (entry === undefined) {
      this.options.logger.warn({ transactionalId, cap: this.options.maxTransactionalIds }, 'transactional id refused: the coordinator holds its maximum of transactional ids');
      return { error: 'POLICY_VIOLATION' };
    }
    try {
      await this.log.write(record);
    } catch (err) {
      this.entries.delete(entry);
      return { error: storeError(err) };
    }
    entry.busy = false;
    return { producerId: record.producerId, producerEpoch: record.producerEpoch };
  }

  /** AddPartitionsToTxn, once the handler has checked that every partition exists. */
  addPartitions(req: AddPartitionsToTxnRequest): Promise<TxnError> {
    const partitions = req.topics.flatMap((t) => t.partitions.map((p): [string, number] => [t.name, p]));
    return this.addToTransaction(req, (r) => (holdsAll(r, partitions) ? null : { partitions }));
  }

  addOffsets(req: AddOffsetsToTxnRequest): Promise<TxnError> {
    if (req.groupId === '') return Promise.resolve('INVALID_GROUP_ID');
    return this.addToTransaction(req, (r) => (r.state === 'Ongoing' && r.groups.includes(req.groupId) ? null : { group: req.groupId }));
  }

  private async addToTransaction(
    req: { transactionalId: string; producerId: number; producerEpoch: number },
    toAdd: (r: TransactionRecord) => { partitions?: [string, number][]; group?: string } | null,
  ): Promise<TxnError> {
    const { entry, error } = this.clientEntry(req);
    if (entry === undefined) return error;
    const add = toAdd(entry.record);
    if (add === null) return null;
    const next = addToTransaction(entry.record, add, this.now());
    if ('error' in next) return next.error;
    return this.guarded(entry, () => this.writeWithinCaps(entry, next.record, false));
  }

  /** TxnOffsetCommit: per topic and partition, the error code (0 when held for the commit). */
  async txnOffsetCommit(req: TxnOffsetCommitRequest): Promise<number[][] | TxnErrorName> {
    // TxnOffsetCommit is the group coordinator's API in Kafka: it knows neither PRODUCER_FENCED
    // nor CONCURRENT_TRANSACTIONS, and clients retry its "load in progress".
    const { entry, error } = this.clientEntry(req, { fenced: 'INVALID_PRODUCER_EPOCH', busy: 'GROUP_LOAD_IN_PROGRESS' });
    if (entry === undefined) return error!;
    const r = entry.record;
    if (r.state !== 'Ongoing' || !r.groups.includes(req.groupId)) return 'INVALID_TXN_STATE';
    const { errors, valid } = checkTxnOffsets(this.options.groups, req, txnCommitGroupError(this.options.groups, req));
    if (valid.length === 0) return errors;
    const replaced = new Set(valid.map((o) => `${o.group}\u0000${o.partition}\u0000${o.topic}`));
    const offsets = [...r.offsets.filter((o) => !replaced.has(`${o.group}\u0000${o.partition}\u0000${o.topic}`)), ...valid];
    const failed = await this.guarded(entry, () => this.writeWithinCaps(entry, { ...r, offsets, updatedAt: this.now() }, true));
    return failed ?? errors;
  }

  async endTxn(req: EndTxnRequest): Promise<TxnError> {
    const { entry, error } = this.clientEntry(req);
    if (entry === undefined) return error;
    const next = endTransaction(entry.record, req.committed);
    if ('done' in next) return null;
    if ('error' in next) return next.error;
    return this.guarded(entry, () => this.finish(entry, next.decision));
  }

  /**
   * Whether a transactional batch of `transactionalId`'s producer may be appended to the
   * partition: its transaction is open, holds the partition and is not ending, and the id and
   * epoch are its own. On success the append counts as under way until `release`.
   */
  admitProduce(transactionalId: string | null, producerId: number, producerEpoch: number, topic: string, partition: number): ProduceAdmission {
    const entry = transactionalId === null ? undefined : this.entries.get(transactionalId);
    if (entry === undefined || entry.record.producerId !== producerId) {
      return { error: 'INVALID_TXN_STATE', message: `producer ${producerId} has no transaction under transactional id ${transactionalId}` };
    }
    const r = entry.record;
    if (r.producerEpoch !== producerEpoch) {
      return { error: 'INVALID_PRODUCER_EPOCH', message: `producer ${producerId} epoch ${producerEpoch} is not the transaction's epoch ${r.producerEpoch}` };
    }
    const held = r.partitions.some(([t, p]) => t === topic && p === partition);
    // A transaction loaded at start may have lost an AddPartitionsToTxn answered just before the
    // stop (answered before written): its client goes on producing, so take the partition now.
    if (r.state !== 'Ongoing' || entry.ending || (!held && !entry.loaded)) {
      return { error: 'INVALID_TXN_STATE', message: `${topic}-${partition} is not in an open transaction of ${transactionalId} (AddPartitionsToTxn first)` };
    }
    if (!held) void this.writeWithinCaps(entry, { ...r, partitions: [...r.partitions, [topic, partition]], updatedAt: this.now() }, false);
    return { release: this.entries.beginProduce(entry) };
  }

  /** The entry a client request names, after Kafka's checks in their order, or the error. */
  private clientEntry(
    req: { transactionalId: string; producerId: number; producerEpoch: number },
    errors: { fenced: TxnErrorName; busy: TxnErrorName } = { fenced: 'PRODUCER_FENCED', busy: 'CONCURRENT_TRANSACTIONS' },
  ): { entry: Entry; error: null } | { entry: undefined; error: TxnErrorName } {
    if (this.closed) return { entry: undefined, error: 'GROUP_COORDINATOR_NOT_AVAILABLE' };
    if (req.transactionalId === '') return { entry: undefined, error: 'INVALID_REQUEST' };
    const entry = this.entries.get(req.transactionalId);
    const bad = checkProducer(entry?.record, req.producerId, req.producerEpoch);
    if (bad !== null) return { entry: undefined, error: bad === 'PRODUCER_FENCED' ? errors.fenced : bad };
    if (entry!.busy) return { entry: undefined, error: errors.busy };
    return { entry: entry!, error: null };
  }

  /**
   * Ends the transaction as `decision` says: waits for its produce appends, then writes the
   * outcome. The caller holds the entry busy. When the store
   * fails, nothing of the end was written: the transaction stays Ongoing (the client retries
   * EndTxn; a timeout or fencing abort is tried again at the next check).
   */
  private async finish(entry: Entry, decision: TxnDecision): Promise<TxnError> {
    entry.ending = true;
    try {
      await this.entries.drain(entry);
      const done = completed(decision, this.now());
      const outcome = transactionOutcome(this.options.store, decision, done, this.log.location(done.transactionalId), entry.loaded);
      try {
        await this.options.store.writeTransactionOutcome(outcome);
      } catch (err) {
        this.options.logger.warn({ err, transactionalId: done.transactionalId, commit: outcome.marker.commit }, 'transaction end not written; the transaction stays open');
        return storeError(err);
      }
      this.entries.set(entry, done);
      entry.loaded = false;
      return null;
    } finally {
      entry.ending = false;
    }
  }

  /** `durable` false: the record is in force at once and reaches the disk with a later flush. */
  private async writeWithinCaps(entry: Entry, next: TransactionRecord, durable: boolean): Promise<TxnError> {
    if (!this.entries.fits(entry, next)) {
      this.options.logger.warn({ transactionalId: next.transactionalId }, 'transaction refused: it would hold more partitions, groups and offsets than the coordinator allows');
      return 'POLICY_VIOLATION';
    }
    if (durable) return (await this.write(entry, next))?.error ?? null;
    this.entries.set(entry, next);
    this.log.write(next).catch((err: unknown) => {
      this.options.logger.warn({ err, transactionalId: next.transactionalId }, 'transaction record not written; the transaction ends from the log');
    });
    return null;
  }

  /** Writes `next` durably, then makes it the entry's record; the error when the store failed. */
  private async write(entry: Entry, next: TransactionRecord): Promise<{ error: TxnErrorName } | null> {
    try {
      await this.log.write(next);
    } catch (err) {
      return { error: storeError(err) };
    }
    this.entries.set(entry, next);
    return null;
  }

  /** Runs `fn` with the entry busy (Kafka's pendingState), so no other transition interleaves. */
  private async guarded<T>(entry: Entry, fn: () => Promise<T>): Promise<T> {
    entry.busy = true;
    try {
      return await fn();
    } finally {
      entry.busy = false;
    }
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = this.options.clock.setTimer(this.options.checkIntervalMs, () => {
      void this.check().finally(() => this.schedule());
    });
  }

  /** The periodic check (housekeeping.ts): abort timed-out transactions, forget expired ids. */
  async check(): Promise<void> {
    const work = dueWork(this.entries.values(), this.now(), this.options.idExpirationMs);
    const jobs = [
      ...work.timedOut.map((e) => this.guarded(e, async () => {
        const r = e.record;
        this.options.logger.info({ transactionalId: r.transactionalId, timeoutMs: r.timeoutMs }, 'transaction timed out: aborted, its producer fenced');
        await this.finish(e, fencedAbort(r));
      })),
      ...work.expired.map((e) => this.guarded(e, async () => {
        await this.log.remove(e.record.transactionalId);
        this.entries.delete(e);
      })),
    ];
    const results = await Promise.allSettled(jobs);
    for (const r of results) if (r.status === 'rejected') this.options.logger.warn({ err: r.reason }, 'transaction check failed; retried at the next');
  }

  private now(): number {
    return this.options.clock.now();
  }
}

/**
 * As Kafka maps a failed append to its transaction log: a store that may recover is
 * "coordinator not available", which clients retry after looking the coordinator up again.
 */
function storeError(err: unknown): TxnErrorName {
  return isWeirError(err) && err.retriable ? 'GROUP_COORDINATOR_NOT_AVAILABLE' : 'UNKNOWN_SERVER_ERROR';
}
