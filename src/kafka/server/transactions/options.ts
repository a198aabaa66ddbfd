/** The transaction coordinator's dependencies and limits, with Kafka's defaults where Kafka has one. */
import type { Logger } from '../../../logger.js';
import type { KeyValueStore, RecordLog } from '../../../store/types.js';
import { systemClock, type Clock } from '../groups/clock.js';
import { stripUndefined } from '../groups/options.js';
import type { ProducerStateManager } from '../producer-state.js';
import type { TxnLimits } from './entries.js';
import type { OutcomeStore } from './outcome.js';
import type { TxnGroupView } from './txn-offsets.js';
import { NO_PRODUCER_EPOCH, NO_PRODUCER_ID } from './types.js';

export type TransactionStore = OutcomeStore & KeyValueStore & Pick<RecordLog, 'offsets'>;

export interface TransactionCoordinatorOptions extends Partial<TxnLimits> {
  store: TransactionStore;
  /** The group coordinator: TxnOffsetCommit checks membership against it. */
  groups: TxnGroupView;
  /** Hands out a producer id no producer has (the idempotent producers' allocator, shared). */
  newProducerId: () => number;
  logger: Logger;
  clock?: Clock;
  /** Kafka's transaction.max.timeout.ms: a longer transaction.timeout.ms gets INVALID_TRANSACTION_TIMEOUT. */
  maxTimeoutMs?: number;
  /** Kafka's transactional.id.expiration.ms: an id idle (Empty or complete) this long is forgotten. */
  idExpirationMs?: number;
  /** How often timed-out transactions are aborted and expired ids removed (Kafka: 10 s). */
  checkIntervalMs?: number;
}

export type ResolvedTxnOptions = Required<TransactionCoordinatorOptions>;

export function resolveTxnOptions(o: TransactionCoordinatorOptions): ResolvedTxnOptions {
  return {
    clock: systemClock,
    maxTimeoutMs: 900_000,
    idExpirationMs: 604_800_000,
    checkIntervalMs: 10_000,
    maxTransactionalIds: 10_000,
    maxEntriesPerTransaction: 20_000,
    maxOpenEntries: 200_000,
    ...stripUndefined(o),
  };
}

/**
 * New producer ids from the idempotent producers' allocator, so transactional and idempotent
 * producers share one id space (InitProducerId without an id always gets a fresh one at epoch 0).
 */
export function producerIdsFrom(producers: Pick<ProducerStateManager, 'initProducerId'>): () => number {
  return () => {
    const r = producers.initProducerId(NO_PRODUCER_ID, NO_PRODUCER_EPOCH);
    if ('error' in r) throw new Error(`a new producer id was refused: ${r.error}`);
    return r.producerId;
  };
}
