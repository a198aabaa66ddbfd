/**
 * Writing a transaction's outcome (Kafka's TransactionMarkerChannelManager and the group
 * coordinator's handling of a COMMIT marker in __consumer_offsets, on one node): a COMMIT or
 * ABORT marker into every partition of the transaction, then, on COMMIT only, the offsets sent
 * with TxnOffsetCommit into their groups. The caller has made the decision durable first
 * (PrepareCommit / PrepareAbort), so a crash part way is finished at the next start.
 */
import { isWeirError } from '../../../errors.js';
import type { GroupOffsetStore, RecordLog } from '../../../store/types.js';
import type { PendingTxnOffset, TransactionRecord } from './types.js';

export type OutcomeStore = Pick<RecordLog, 'appendTransactionMarker' | 'producerState'> & Pick<GroupOffsetStore, 'commitGroupOffsets'>;

/** A single node is always coordinator of every transaction, in its one and only epoch. */
export const COORDINATOR_EPOCH = 0;

/**
 * Writes the markers and, for a commit, the offsets; resolves once all are durable and rejects
 * when any could not be written (the caller retries; markers and offsets already written are
 * not written twice, since a retry passes `onlyOpen`).
 *
 * `onlyOpen`: write a marker only where the log still has the producer's transaction open.
 * For a retry or a recovery: where txnFirstOffset is -1 the marker is already there (or the
 * producer never wrote to the partition, where a marker has nothing to close).
 */
export async function writeOutcome(store: OutcomeStore, r: TransactionRecord, onlyOpen: boolean): Promise<void> {
  const commit = r.state === 'PrepareCommit';
  const marker = { producerId: r.producerId, producerEpoch: r.producerEpoch, commit, coordinatorEpoch: COORDINATOR_EPOCH };
  const partitions = onlyOpen ? r.partitions.filter(([t, p]) => hasOpenTransaction(store, t, p, r.producerId)) : r.partitions;
  // Markers and offsets in any order, so they share flushes: the decision is durable already,
  // and a restart writes again whatever of it did not reach the disk.
  const offsets = commit ? [...byGroup(r.offsets)].map(([group, list]) => store.commitGroupOffsets(group, list)) : [];
  // Every write settled before a failure is reported: a retry that started while a marker was
  // still being written would find its transaction open and write it twice.
  const settled = await Promise.allSettled([...partitions.map(async ([topic, partition]) => {
    try {
      await store.appendTransactionMarker(topic, partition, marker);
    } catch (err) {
      // A partition deleted since it joined the transaction has nothing left to mark (Kafka
      // drops the markers of partitions that are gone).
      if (!isWeirError(err, 'UNKNOWN_TOPIC_OR_PARTITION')) throw err;
    }
  }), ...offsets]);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

function hasOpenTransaction(store: OutcomeStore, topic: string, partition: number, producerId: number): boolean {
  try {
    return (store.producerState(topic, partition, producerId)?.txnFirstOffset ?? -1) >= 0;
  } catch (err) {
    if (isWeirError(err, 'UNKNOWN_TOPIC_OR_PARTITION')) return false;
    throw err;
  }
}

function byGroup(offsets: PendingTxnOffset[]): Map<string, Omit<PendingTxnOffset, 'group'>[]> {
  const out = new Map<string, Omit<PendingTxnOffset, 'group'>[]>();
  for (const { group, ...o } of offsets) {
    let list = out.get(group);
    if (list === undefined) out.set(group, (list = []));
    list.push(o);
  }
  return out;
}
