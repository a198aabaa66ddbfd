/**
 * Retention and transactions (KIP-98): what deleting the head of a log does to the last stable
 * offset and to the aborted-transaction index, as Kafka does it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogStore } from '../../../src/store/index.js';
import { producerBatch } from '../../helpers/producer-batches.js';
import { openTestStore, tempDir } from '../../helpers/store.js';

const txn = (producerId: number, seq: number) => producerBatch({ producerId, seq, count: 2, transactional: true });
const marker = (producerId: number, commit: boolean) => ({ producerId, producerEpoch: 0, commit, coordinatorEpoch: 0 });
const plain = (value: string) => [{ key: null, value: Buffer.from(value) }];

describe('retention and transactions', () => {
  let store: LogStore;
  let cleanup: () => void;

  beforeEach(async () => {
    const t = tempDir('weir-txn-retention-');
    cleanup = t.cleanup;
    store = await openTestStore(t.dir);
    // Every batch rolls a segment of its own, so deleting records deletes whole segments.
    await store.createTopic('t', { configs: { 'segment.bytes': '100' } });
  });

  afterEach(async () => {
    await store.close();
    cleanup();
  });

  it('keeps the last stable offset at the log start when the head deleted held an open transaction (Kafka clamps it there)', async () => {
    await store.appendBatches('t', 0, txn(1, 0)); // 0-1: open
    await store.appendRecords('t', 0, plain('a')); // 2
    await store.appendRecords('t', 0, plain('b')); // 3
    expect(store.offsets('t', 0).lastStableOffset).toBe(0);

    await store.deleteRecords('t', 0, 3);
    expect(store.offsets('t', 0)).toEqual({ logStartOffset: 3, highWatermark: 4, lastStableOffset: 3 });
    // A read_committed reader at the log start waits for the transaction's end, and is not out of range.
    expect(store.read('t', 0, 3, 1 << 20, 'read_committed').batches).toEqual([]);

    await store.appendTransactionMarker('t', 0, marker(1, true)); // 4
    expect(store.offsets('t', 0).lastStableOffset).toBe(5);
    expect(store.read('t', 0, 3, 1 << 20, 'read_committed').batches).toHaveLength(2);
  });

  it("keeps an aborted transaction's index row while its marker is in the log, though its records are gone", async () => {
    await store.appendBatches('t', 0, txn(2, 0)); // 0-1
    await store.appendRecords('t', 0, plain('a')); // 2
    await store.appendTransactionMarker('t', 0, marker(2, false)); // 3
    await store.appendRecords('t', 0, plain('b')); // 4

    await store.deleteRecords('t', 0, 2);
    // A read_committed consumer from the log start is still told: the marker ends the range it drops.
    expect(store.abortedTransactions('t', 0, 2, 5)).toEqual([{ producerId: 2, firstOffset: 0 }]);
    await store.deleteRecords('t', 0, 4);
    expect(store.abortedTransactions('t', 0, 4, 5)).toEqual([]);
    expect(store.abortedTransactions('t', 0, 0, 5)).toEqual([]);
  });
});
