/**
 * Transactions in the log (KIP-98): the last stable offset, read_committed reads, the
 * aborted-transaction index, and all three across a reopen.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { controlRecordType } from '../../../src/kafka/protocol/control-batch.js';
import type { LogStore } from '../../../src/store/index.js';
import { openTestStore, tempDir } from '../../helpers/store.js';
import { producerBatch } from '../../helpers/producer-batches.js';

let cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
});

async function freshStore(): Promise<{ store: LogStore; dir: string }> {
  const t = tempDir('weir-lso-');
  cleanups.push(t.cleanup);
  const store = await openTestStore(t.dir);
  await store.createTopic('t', { partitions: 1 });
  return { store, dir: t.dir };
}

const txn = (producerId: number, seq: number, count = 2) => producerBatch({ producerId, seq, count, transactional: true });
const marker = (producerId: number, commit: boolean) => ({ producerId, producerEpoch: 0, commit, coordinatorEpoch: 0 });

describe('last stable offset', () => {
  it('stops read_committed at the first open transaction, until its marker', async () => {
    const { store } = await freshStore();
    await store.appendRecords('t', 0, [{ key: null, value: Buffer.from('plain') }]); // offset 0
    await store.appendBatches('t', 0, txn(1, 0)); // 1-2
    await store.appendRecords('t', 0, [{ key: null, value: Buffer.from('after') }]); // 3
    expect(store.offsets('t', 0)).toEqual({ logStartOffset: 0, highWatermark: 4, lastStableOffset: 1 });
    expect(store.read('t', 0, 0, 1 << 20, 'read_committed').batches).toHaveLength(1);
    expect(store.read('t', 0, 0, 1 << 20).batches).toHaveLength(3);
    expect(store.producerState('t', 0, 1)?.txnFirstOffset).toBe(1);

    const woken = store.waitForData('t', 0, 1, 5_000, undefined, 'read_committed');
    const m = await store.appendTransactionMarker('t', 0, marker(1, true)); // 4
    expect(m.baseOffset).toBe(4);
    expect(await woken).toBe(true);
    expect(store.offsets('t', 0).lastStableOffset).toBe(5);
    const all = store.read('t', 0, 0, 1 << 20, 'read_committed').batches;
    expect(all).toHaveLength(4);
    expect(controlRecordType(all[3]!)).toBe(1);
    expect(store.abortedTransactions('t', 0, 0, 5)).toEqual([]);
    await store.close();
  });

  it('lists aborted transactions by marker and first offset, and keeps them across a reopen', async () => {
    const { store, dir } = await freshStore();
    await store.appendBatches('t', 0, txn(1, 0)); // 0-1
    await store.appendBatches('t', 0, txn(2, 0, 3)); // 2-4
    await store.appendTransactionMarker('t', 0, marker(1, false)); // 5: abort of 1
    expect(store.offsets('t', 0).lastStableOffset).toBe(2); // 2 is still open
    await store.appendBatches('t', 0, txn(2, 3, 1)); // 6
    await store.close();

    const reopened = await openTestStore(dir);
    // The open transaction of producer 2 is rebuilt from the log: the LSO is still held at 2.
    expect(reopened.offsets('t', 0)).toMatchObject({ highWatermark: 7, lastStableOffset: 2 });
    expect(reopened.producerState('t', 0, 2)?.txnFirstOffset).toBe(2);
    expect(reopened.abortedTransactions('t', 0, 0, 7)).toEqual([{ producerId: 1, firstOffset: 0 }]);
    expect(reopened.abortedTransactions('t', 0, 6, 7)).toEqual([]); // marker before the fetch offset
    await reopened.appendTransactionMarker('t', 0, marker(2, false)); // 7
    expect(reopened.offsets('t', 0).lastStableOffset).toBe(8);
    expect(reopened.abortedTransactions('t', 0, 0, 8)).toEqual([{ producerId: 1, firstOffset: 0 }, { producerId: 2, firstOffset: 2 }]);
    expect(reopened.abortedTransactions('t', 0, 0, 2)).toEqual([{ producerId: 1, firstOffset: 0 }]); // 2's records start at 2
    await reopened.close();
  });

  it('drops aborted-transaction rows with the segments retention deletes', async () => {
    const { store } = await freshStore();
    await store.alterTopicConfigs('t', { 'segment.bytes': '100' }); // every batch rolls a segment
    await store.appendBatches('t', 0, txn(1, 0)); // 0-1
    await store.appendTransactionMarker('t', 0, marker(1, false)); // 2
    await store.appendRecords('t', 0, [{ key: null, value: Buffer.from('x') }]); // 3
    expect(store.abortedTransactions('t', 0, 0, 4)).toHaveLength(1);
    await store.deleteRecords('t', 0, 3);
    expect(store.offsets('t', 0).logStartOffset).toBe(3);
    expect(store.abortedTransactions('t', 0, 0, 4)).toEqual([]);
    await store.close();
  });
});
