/**
 * The transaction state machine, as pure functions of a record (Kafka's TransactionCoordinator
 * checks and TransactionMetadata transitions, pre KIP-890):
 *
 *   Empty / CompleteCommit / CompleteAbort --AddPartitionsToTxn, AddOffsetsToTxn--> Ongoing
 *   Ongoing --EndTxn(commit): markers, offsets and the record in one write--> CompleteCommit
 *   Ongoing --EndTxn(abort), timeout, or fencing InitProducerId: markers and the record--> CompleteAbort
 *   Empty / Complete* --InitProducerId--> Empty with epoch + 1 (or a new id once the epoch is exhausted)
 *
 * Every function returns the next record (never mutates its argument) or the error Kafka answers.
 */
import { isEpochExhausted, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, type TransactionRecord, type TxnDecision } from './types.js';
import type { TxnErrorName } from './codes.js';

type Transit = { record: TransactionRecord } | { error: TxnErrorName };

export function newRecord(transactionalId: string, producerId: number, timeoutMs: number, now: number): TransactionRecord {
  return {
    transactionalId, producerId, producerEpoch: 0, lastProducerId: NO_PRODUCER_ID, lastProducerEpoch: NO_PRODUCER_EPOCH,
    timeoutMs, state: 'Empty', startedAt: -1, updatedAt: now, partitions: [], groups: [], offsets: [],
  };
}

/** InitProducerId's expected id and epoch (KIP-360, v3+), or null when the producer sent none. */
export interface ExpectedProducer {
  producerId: number;
  producerEpoch: number;
}

/**
 * InitProducerId on an existing id that is Empty or complete (TransactionCoordinator
 * prepareInitProducerIdTransit; an Ongoing one is fenced and aborted first). `newProducerId` is
 * called only when the epoch is exhausted.
 */
export function initProducerIdTransit(
  r: TransactionRecord, expected: ExpectedProducer | null, timeoutMs: number, now: number, newProducerId: () => number,
): Transit {
  if (expected !== null && !isValidProducerId(r, expected)) return { error: 'PRODUCER_FENCED' };
  const base = { ...r, timeoutMs, state: 'Empty' as const, startedAt: -1, updatedAt: now, partitions: [], groups: [], offsets: [] };
  if (isEpochExhausted(r.producerEpoch) && (expected === null || expected.producerEpoch === r.producerEpoch)) {
    // prepareProducerIdRotation: a new id at epoch 0; the old one is remembered for a retry.
    const lastProducerEpoch = expected === null ? NO_PRODUCER_EPOCH : r.producerEpoch;
    return { record: { ...base, producerId: newProducerId(), producerEpoch: 0, lastProducerId: r.producerId, lastProducerEpoch } };
  }
  // prepareIncrementProducerEpoch.
  if (expected === null) return { record: { ...base, producerEpoch: r.producerEpoch + 1, lastProducerEpoch: NO_PRODUCER_EPOCH } };
  if (r.producerEpoch === NO_PRODUCER_EPOCH || expected.producerEpoch === r.producerEpoch) {
    return { record: { ...base, producerEpoch: r.producerEpoch + 1, lastProducerId: r.producerId, lastProducerEpoch: r.producerEpoch } };
  }
  // A retry of a bump whose answer the producer never got: the same answer again.
  if (expected.producerEpoch === r.lastProducerEpoch) return { record: { ...base, producerEpoch: r.producerEpoch } };
  return { error: 'PRODUCER_FENCED' };
}

/**
 * TransactionMetadata.isValidProducerId: the expected id is the current one, or the previous
 * one with an exhausted epoch (a retry after a rotation).
 */
export function isValidProducerId(r: TransactionRecord, expected: ExpectedProducer): boolean {
  return r.producerEpoch === NO_PRODUCER_EPOCH || expected.producerId === r.producerId
    || (expected.producerId === r.lastProducerId && isEpochExhausted(expected.producerEpoch));
}

/** The id and epoch check of AddPartitionsToTxn, AddOffsetsToTxn and EndTxn from a client. */
export function checkProducer(r: TransactionRecord | undefined, producerId: number, producerEpoch: number): TxnErrorName | null {
  if (r === undefined || r.producerId !== producerId) return 'INVALID_PRODUCER_ID_MAPPING';
  if (r.producerEpoch !== producerEpoch) return 'PRODUCER_FENCED';
  return null;
}

/** AddPartitionsToTxn / AddOffsetsToTxn: the transaction now holds these too (it starts if it was not open). */
export function addToTransaction(r: TransactionRecord, add: { partitions?: [string, number][]; group?: string }, now: number): Transit {
  const ongoing = r.state === 'Ongoing';
  const partitions = ongoing ? [...r.partitions] : [];
  const known = new Set(partitions.map(([t, p]) => `${p}:${t}`));
  for (const [t, p] of add.partitions ?? []) {
    if (!known.has(`${p}:${t}`)) {
      known.add(`${p}:${t}`);
      partitions.push([t, p]);
    }
  }
  const groups = ongoing ? [...r.groups] : [];
  if (add.group !== undefined && !groups.includes(add.group)) groups.push(add.group);
  return {
    record: {
      ...r, state: 'Ongoing', startedAt: ongoing ? r.startedAt : now, updatedAt: now, partitions, groups, offsets: ongoing ? r.offsets : [],
    },
  };
}

/** Whether AddPartitionsToTxn would change nothing (Kafka answers at once, writing nothing). */
export function holdsAll(r: TransactionRecord, partitions: [string, number][]): boolean {
  if (r.state !== 'Ongoing') return false;
  const held = new Set(r.partitions.map(([t, p]) => `${p}:${t}`));
  return partitions.every(([t, p]) => held.has(`${p}:${t}`));
}

/**
 * EndTxn from a client, after checkProducer (TransactionCoordinator.handleEndTransaction):
 * the decision to write out, nothing to do (a retry of an end that completed), or the error.
 */
export function endTransaction(r: TransactionRecord, commit: boolean): { decision: TxnDecision } | { done: true } | { error: TxnErrorName } {
  switch (r.state) {
    case 'Ongoing':
      return { decision: { commit, record: r } };
    case 'CompleteCommit':
      return commit ? { done: true } : { error: 'INVALID_TXN_STATE' };
    case 'CompleteAbort':
      return commit ? { error: 'INVALID_TXN_STATE' } : { done: true };
    case 'Empty':
      return { error: 'INVALID_TXN_STATE' };
  }
}

/**
 * An Ongoing transaction aborted by the coordinator (timeout, or a new producer with the same
 * id): the epoch is bumped first, so the old producer is fenced (prepareFenceProducerEpoch),
 * and the markers carry the new epoch.
 */
export function fencedAbort(r: TransactionRecord): TxnDecision {
  const producerEpoch = isEpochExhausted(r.producerEpoch) ? r.producerEpoch : r.producerEpoch + 1;
  return { commit: false, record: { ...r, producerEpoch, lastProducerEpoch: NO_PRODUCER_EPOCH } };
}

/** The record once the decision is written out: CompleteCommit or CompleteAbort. */
export function completed(d: TxnDecision, now: number): TransactionRecord {
  return { ...d.record, state: d.commit ? 'CompleteCommit' : 'CompleteAbort', startedAt: -1, updatedAt: now, partitions: [], groups: [], offsets: [] };
}
