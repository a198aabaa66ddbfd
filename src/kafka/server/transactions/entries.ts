/**
 * The coordinator's in-memory table: one entry per transactional id (its durable record, and
 * what only this process knows: a transition being written, produce appends under way). Both
 * are capped, so neither clients nor a long uptime grow them without bound:
 *
 * - transactional ids: `maxTransactionalIds` (10,000 by default). Ids idle past
 *   transactional.id.expiration.ms are removed (housekeeping.ts); a new id beyond the cap is
 *   refused.
 * - what open transactions hold (partitions, groups, pending offsets): `maxEntriesPerTransaction`
 *   (20,000) in one, `maxOpenEntries` (200,000) in all together. At ~100 bytes each that is
 *   ~2 MB for one record (also its kv value) and ~20 MB in all.
 */
import type { TransactionRecord } from './types.js';

export interface TxnLimits {
  maxTransactionalIds: number;
  maxEntriesPerTransaction: number;
  maxOpenEntries: number;
}

export interface Entry {
  record: TransactionRecord;
  /** A transition is being written (Kafka's pendingState): other requests get CONCURRENT_TRANSACTIONS. */
  busy: boolean;
  /** The transaction is ending: no produce may join it any more. */
  ending: boolean;
  /**
   * Ongoing when loaded at start: its record may miss partitions added just before a stop, so its
   * end also marks the partitions where the log has the producer's transaction open.
   */
  loaded: boolean;
  /** Transactional produce appends of this id under way: an end waits for them. */
  inflight: number;
  drained: (() => void)[];
}

function heldBy(r: TransactionRecord): number {
  return r.partitions.length + r.groups.length + r.offsets.length;
}

export class TxnEntries {
  private readonly map = new Map<string, Entry>();
  private open = 0;

  constructor(private readonly limits: TxnLimits) {}

  get(transactionalId: string): Entry | undefined {
    return this.map.get(transactionalId);
  }

  values(): IterableIterator<Entry> {
    return this.map.values();
  }

  get size(): number {
    return this.map.size;
  }

  /** Partitions, groups and pending offsets held by every transaction together. */
  get openEntries(): number {
    return this.open;
  }

  /** A new entry (busy until its first write), or undefined at the cap. */
  add(record: TransactionRecord, force = false): Entry | undefined {
    if (!force && this.map.size >= this.limits.maxTransactionalIds) return undefined;
    const entry: Entry = { record, busy: true, ending: false, loaded: false, inflight: 0, drained: [] };
    this.map.set(record.transactionalId, entry);
    this.open += heldBy(record);
    return entry;
  }

  delete(entry: Entry): void {
    if (this.map.get(entry.record.transactionalId) !== entry) return;
    this.map.delete(entry.record.transactionalId);
    this.open -= heldBy(entry.record);
  }

  /** Whether `next` may replace the entry's record without passing a cap. */
  fits(entry: Entry, next: TransactionRecord): boolean {
    const held = heldBy(next);
    return held <= this.limits.maxEntriesPerTransaction && this.open - heldBy(entry.record) + held <= this.limits.maxOpenEntries;
  }

  /** Replaces the record. */
  set(entry: Entry, next: TransactionRecord): void {
    this.open += heldBy(next) - heldBy(entry.record);
    entry.record = next;
  }

  /** Counts a produce append under way; the returned function ends it. */
  beginProduce(entry: Entry): () => void {
    entry.inflight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--entry.inflight === 0) for (const wake of entry.drained.splice(0)) wake();
    };
  }

  /** Resolves once no produce append of the entry is under way. */
  drain(entry: Entry): Promise<void> {
    if (entry.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => entry.drained.push(resolve));
  }
}
