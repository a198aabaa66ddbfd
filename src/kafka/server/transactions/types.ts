/**
 * A transactional id's state as the transaction coordinator keeps it (Kafka's
 * TransactionMetadata): durable in the store's kv, one value per transactional id, rewritten
 * before every answer that depends on it.
 */
import type { TxnErrorName } from './codes.js';

/**
 * Kafka's TransactionState, without Dead (a removed id has no record), PrepareEpochFence (Weir
 * fences and aborts in one step: the abort is written with the bumped epoch) and
 * PrepareCommit/PrepareAbort: one node writes a transaction's whole outcome in one LMDB
 * transaction (outcome.ts), so no decision is ever stored half carried out.
 */
export type TxnState = 'Empty' | 'Ongoing' | 'CompleteCommit' | 'CompleteAbort';

/** How an Ongoing transaction ends: commit or abort, with the record as it ends (an abort that fences has its epoch bumped). */
export interface TxnDecision {
  commit: boolean;
  record: TransactionRecord;
}

/** An offset TxnOffsetCommit sent, pending until the transaction commits. */
export interface PendingTxnOffset {
  group: string;
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
}

export interface TransactionRecord {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  /** The id and epoch before the last bump, so a retried InitProducerId gets the same answer (KIP-360). */
  lastProducerId: number;
  lastProducerEpoch: number;
  /** transaction.timeout.ms of the last InitProducerId. */
  timeoutMs: number;
  state: TxnState;
  /** When the transaction became Ongoing (wall clock ms), -1 outside one. */
  startedAt: number;
  /** The last transition (wall clock ms): transactional.id.expiration.ms counts from it. */
  updatedAt: number;
  /** The partitions of the open (or ending) transaction, as [topic, partition]. */
  partitions: [string, number][];
  /** Groups added by AddOffsetsToTxn. */
  groups: string[];
  /** TxnOffsetCommit's offsets, applied to their groups on COMMIT only. */
  offsets: PendingTxnOffset[];
}

/** An answer: nothing to say (NONE) or a Kafka error. */
export type TxnError = TxnErrorName | null;

/** Kafka's RecordBatch.NO_PRODUCER_EPOCH / NO_PRODUCER_ID. */
export const NO_PRODUCER_EPOCH = -1;
export const NO_PRODUCER_ID = -1;

/** TransactionMetadata.isEpochExhausted: an epoch this high gets a new producer id instead of a bump. */
export function isEpochExhausted(epoch: number): boolean {
  return epoch >= 0x7fff - 1;
}
