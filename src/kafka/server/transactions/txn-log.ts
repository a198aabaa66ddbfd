/**
 * The durable side of the transaction coordinator: one kv value per transactional id in the
 * store's `transactions` namespace (the log's own LMDB environment, flushed like every other
 * write). Kafka keeps the same in its __transaction_state topic.
 *
 * A transactional id is a client string of any length and content; the kv takes keys of at most
 * ~1.9 KB without U+0000, so such ids are keyed by their SHA-256 (the value names the id).
 */
import { createHash } from 'node:crypto';
import type { KeyValueStore, KvKey, KvNamespace } from '../../../store/types.js';
import type { TransactionRecord } from './types.js';

export const TRANSACTIONS_NAMESPACE = 'transactions';

/** Ids up to this many UTF-8 bytes, without U+0000, are keys as they are. */
const MAX_PLAIN_KEY_BYTES = 1_024;

export class TransactionLog {
  private readonly kv: KvNamespace<TransactionRecord>;

  constructor(store: KeyValueStore) {
    this.kv = store.kv<TransactionRecord>(TRANSACTIONS_NAMESPACE);
  }

  /** Every stored record (at start). */
  *loadAll(): IterableIterator<TransactionRecord> {
    for (const { value } of this.kv.getRange()) yield value;
  }

  /** Resolves once the record is on disk. */
  write(record: TransactionRecord): Promise<void> {
    return this.kv.put(keyOf(record.transactionalId), record);
  }

  /** Where a record of `transactionalId` is kept, for a write made with other writes (a transaction's outcome). */
  location(transactionalId: string): { namespace: string; key: KvKey } {
    return { namespace: TRANSACTIONS_NAMESPACE, key: keyOf(transactionalId) };
  }

  remove(transactionalId: string): Promise<void> {
    return this.kv.remove(keyOf(transactionalId));
  }
}

function keyOf(transactionalId: string): KvKey {
  if (!transactionalId.includes('\u0000') && Buffer.byteLength(transactionalId) <= MAX_PLAIN_KEY_BYTES) return [0, transactionalId];
  return [1, createHash('sha256').update(transactionalId).digest('hex')];
}
