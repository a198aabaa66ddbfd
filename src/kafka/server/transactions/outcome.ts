/**
 * A transaction's outcome (Kafka's TransactionMarkerChannelManager and the group coordinator's
 * handling of a COMMIT marker in __consumer_offsets, on one node): a COMMIT or ABORT marker into
 * every partition of the transaction, on COMMIT the offsets sent with TxnOffsetCommit, and the
 * coordinator's Complete* record — all in one LMDB transaction (store.writeTransactionOutcome).
 *
 * Kafka writes PrepareCommit/PrepareAbort to its transaction log first because the markers go to
 * other brokers, one by one; a coordinator that fails part way must know the decision to finish.
 * One node writes them all at once: a crash leaves the transaction Ongoing, with no marker and no
 * offset of it anywhere, or ended everywhere. So nothing is written before the outcome.
 */
import type { GroupOffsetStore, RecordLog, TransactionOutcome } from '../../../store/types.js';
import type { PendingTxnOffset, TransactionRecord, TxnDecision } from './types.js';

export type OutcomeStore = Pick<RecordLog, 'producerState' | 'openTransactionPartitions' | 'writeTransactionOutcome'> & Pick<GroupOffsetStore, 'commitGroupOffsets'>;

/** A single node is always coordinator of every transaction, in its one and only epoch. */
export const COORDINATOR_EPOCH = 0;

/**
 * The outcome of `decision`, with `done` (its Complete* record) written beside it at `kv`.
 *
 * `fromLog`: add the partitions where the log has the producer's transaction open. A record
 * loaded at start may miss partitions: AddPartitionsToTxn is answered before its record reaches
 * the disk (the log of the producer's batches is the truth, and the end writes the record again).
 */
export function transactionOutcome(
  store: OutcomeStore, decision: TxnDecision, done: TransactionRecord, kv: Omit<TransactionOutcome['kv'][number], 'value'>, fromLog: boolean,
): TransactionOutcome {
  const { commit, record: ending } = decision;
  const partitions = ending.partitions.map(([topic, partition]) => ({ topic, partition }));
  if (fromLog) {
    const known = new Set(ending.partitions.map(([t, p]) => `${p}:${t}`));
    for (const open of store.openTransactionPartitions(ending.producerId)) {
      if (!known.has(`${open.partition}:${open.topic}`)) partitions.push(open);
    }
  }
  return {
    marker: { producerId: ending.producerId, producerEpoch: ending.producerEpoch, commit, coordinatorEpoch: COORDINATOR_EPOCH },
    partitions,
    groupOffsets: commit ? [...byGroup(ending.offsets)].map(([group, offsets]) => ({ group, offsets })) : [],
    kv: [{ ...kv, value: done }],
  };
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
