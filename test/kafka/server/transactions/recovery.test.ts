/**
 * Start-up recovery: a coordinator that stopped (crashed) between writing Prepare* and Complete*
 * finishes the transaction when it starts again: a marker only where the log still has the
 * transaction open (so none is written twice), the offsets on COMMIT, then Complete*. An Ongoing
 * transaction survives a restart and still times out.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { COORDINATOR_EPOCH } from '../../../../src/kafka/server/transactions/outcome.js';
import { TransactionLog } from '../../../../src/kafka/server/transactions/txn-log.js';
import type { TransactionRecord } from '../../../../src/kafka/server/transactions/types.js';
import { markersIn, openTxnFixture, transactionalBatch, type TxnFixture } from './helpers.js';

let fx: TxnFixture;
afterEach(async () => {
  await fx?.close();
});

const PID = 5_000;

function prepared(state: 'PrepareCommit' | 'PrepareAbort', now: number): TransactionRecord {
  return {
    transactionalId: 'crashed', producerId: PID, producerEpoch: 3, lastProducerId: -1, lastProducerEpoch: -1, timeoutMs: 60_000,
    state, startedAt: now - 1_000, updatedAt: now,
    partitions: [['out', 0], ['out', 1]], groups: ['g'],
    offsets: [{ group: 'g', topic: 'in', partition: 0, offset: 99, leaderEpoch: -1, metadata: null }],
  };
}

/**
 * The log as a crash left it: the producer wrote to both partitions, and the marker of the
 * decision reached out-1 only.
 */
async function crashAfterOneMarker(record: TransactionRecord): Promise<void> {
  for (const partition of [0, 1]) await fx.store.appendBatches('out', partition, transactionalBatch(PID, 3, 0, 2));
  await fx.store.appendTransactionMarker('out', 1, { producerId: PID, producerEpoch: 3, commit: record.state === 'PrepareCommit', coordinatorEpoch: COORDINATOR_EPOCH });
  await new TransactionLog(fx.store).write(record);
}

describe('recovery at start', () => {
  it('PrepareCommit: the missing COMMIT marker is written, none twice, the offsets applied, CompleteCommit', async () => {
    fx = await openTxnFixture();
    await crashAfterOneMarker(prepared('PrepareCommit', fx.clock.now()));
    expect(fx.store.producerState('out', 0, PID)?.txnFirstOffset).toBe(0);
    expect(fx.store.producerState('out', 1, PID)?.txnFirstOffset).toBe(-1);

    const again = await fx.restart();
    expect(markersIn(fx.store, 'out', 0)).toEqual([{ producerId: PID, producerEpoch: 3, commit: true }]);
    expect(markersIn(fx.store, 'out', 1)).toEqual([{ producerId: PID, producerEpoch: 3, commit: true }]);
    expect(fx.store.fetchGroupOffsets('g')).toMatchObject([{ topic: 'in', partition: 0, offset: 99 }]);
    expect(again.describe('crashed')).toMatchObject({ state: 'CompleteCommit', partitions: [], offsets: [] });
    expect(fx.store.offsets('out', 0).lastStableOffset).toBe(fx.store.offsets('out', 0).highWatermark);

    // Complete is on disk: one more restart writes nothing more.
    await fx.restart();
    expect(markersIn(fx.store, 'out', 0)).toHaveLength(1);
  });

  it('PrepareAbort: the missing ABORT marker is written, the offsets dropped, CompleteAbort', async () => {
    fx = await openTxnFixture();
    await crashAfterOneMarker(prepared('PrepareAbort', fx.clock.now()));
    const again = await fx.restart();
    expect(markersIn(fx.store, 'out', 0)).toEqual([{ producerId: PID, producerEpoch: 3, commit: false }]);
    expect(markersIn(fx.store, 'out', 1)).toHaveLength(1);
    expect(fx.store.fetchGroupOffsets('g')).toEqual([]);
    expect(again.describe('crashed')).toMatchObject({ state: 'CompleteAbort' });
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
