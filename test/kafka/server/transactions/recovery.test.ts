/**
 * Start-up: an Ongoing transaction survives a restart and still times out; and one whose record
 * misses a partition (AddPartitionsToTxn is answered before its record reaches the disk) still
 * gets its markers wherever the log has it open, so no partition is left with a hanging
 * transaction.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TransactionLog } from '../../../../src/kafka/server/transactions/txn-log.js';
import type { TransactionRecord } from '../../../../src/kafka/server/transactions/types.js';
import { markersIn, openTxnFixture, transactionalBatch, type TxnFixture } from './helpers.js';

let fx: TxnFixture;
afterEach(async () => {
  await fx?.close();
});

const PID = 5_000;

/** The record as a stop right after AddPartitionsToTxn(out-1) left it: out-1 is not in it. */
function ongoingWithoutOut1(now: number): TransactionRecord {
  return {
    transactionalId: 'crashed', producerId: PID, producerEpoch: 3, lastProducerId: -1, lastProducerEpoch: -1, timeoutMs: 60_000,
    state: 'Ongoing', startedAt: now - 1_000, updatedAt: now, partitions: [['out', 0]], groups: [], offsets: [],
  };
}

describe('recovery at start', () => {
  for (const commit of [true, false]) {
    it(`EndTxn(${commit ? 'commit' : 'abort'}) after a restart marks a partition the record lost, once`, async () => {
      fx = await openTxnFixture();
      for (const partition of [0, 1]) await fx.store.appendBatches('out', partition, transactionalBatch(PID, 3, 0, 2));
      await new TransactionLog(fx.store).write(ongoingWithoutOut1(fx.clock.now()));
      const again = await fx.restart();
      // The client goes on: one more batch into out-1, admitted though the record lost it.
      const admitted = again.admitProduce('crashed', PID, 3, 'out', 1);
      expect(admitted).toHaveProperty('release');
      if ('release' in admitted) admitted.release();
      expect(await again.endTxn({ transactionalId: 'crashed', producerId: PID, producerEpoch: 3, committed: commit })).toBeNull();
      for (const partition of [0, 1]) {
        expect(markersIn(fx.store, 'out', partition)).toEqual([{ producerId: PID, producerEpoch: 3, commit }]);
        expect(fx.store.offsets('out', partition).lastStableOffset).toBe(fx.store.offsets('out', partition).highWatermark);
      }
      expect(again.describe('crashed')).toMatchObject({ state: commit ? 'CompleteCommit' : 'CompleteAbort', partitions: [] });
      await fx.restart();
      expect(markersIn(fx.store, 'out', 1)).toHaveLength(1);
    });
  }

  it('a timeout abort after a restart marks a partition the record lost', async () => {
    fx = await openTxnFixture();
    for (const partition of [0, 1]) await fx.store.appendBatches('out', partition, transactionalBatch(PID, 3, 0, 2));
    await new TransactionLog(fx.store).write(ongoingWithoutOut1(fx.clock.now()));
    const again = await fx.restart();
    fx.clock.advance(60_000);
    await again.check();
    for (const partition of [0, 1]) expect(markersIn(fx.store, 'out', partition)).toEqual([{ producerId: PID, producerEpoch: 4, commit: false }]);
  });

  it('an Ongoing transaction survives a restart and still times out, from its first start', async () => {
    fx = await openTxnFixture();
    const p = await fx.coordinator.initProducerId('tx', 10_000, null);
    if ('error' in p) throw new Error(p.error);
    await fx.coordinator.addPartitions({ transactionalId: 'tx', ...p, topics: [{ name: 'out', partitions: [0] }] });
    await fx.store.appendBatches('out', 0, transactionalBatch(p.producerId, p.producerEpoch, 0));
    fx.clock.advance(6_000);
    const again = await fx.restart();
    expect(again.describe('tx')).toMatchObject({ state: 'Ongoing', partitions: [['out', 0]] });
    expect(fx.store.offsets('out', 0).lastStableOffset).toBe(0);
    fx.clock.advance(5_000);
    await again.check();
    expect(again.describe('tx')).toMatchObject({ state: 'CompleteAbort', producerEpoch: 1 });
    expect(markersIn(fx.store, 'out', 0)).toEqual([{ producerId: p.producerId, producerEpoch: 1, commit: false }]);
    expect(fx.store.offsets('out', 0).lastStableOffset).toBe(fx.store.offsets('out', 0).highWatermark);
  });
});
