/**
 * The transaction coordinator over a real store: InitProducerId, the transaction's life to a
 * commit or an abort (markers in every partition, offsets applied on commit only), fencing by
 * epoch, timeouts, caps, and that every transition is on disk (a restarted coordinator sees it).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WeirError } from '../../../../src/errors.js';
import type { TxnOffsetCommitRequest } from '../../../../src/kafka/protocol/apis/txn-offset-commit.js';
import { fencedFor } from '../../../../src/kafka/server/transactions/codes.js';
import type { TransactionCoordinator } from '../../../../src/kafka/server/transactions/coordinator.js';
import { markersIn, openTxnFixture, transactionalBatch, type TxnFixture } from './helpers.js';

let fx: TxnFixture;
afterEach(async () => {
  await fx?.close();
});

async function init(c: TransactionCoordinator, id = 'tx', timeoutMs = 60_000): Promise<{ producerId: number; producerEpoch: number }> {
  const r = await c.initProducerId(id, timeoutMs, null);
  if ('error' in r) throw new Error(`InitProducerId failed: ${r.error}`);
  return r;
}

const ids = (p: { producerId: number; producerEpoch: number }, transactionalId = 'tx') => ({ transactionalId, ...p });

function offsetCommit(p: { producerId: number; producerEpoch: number }, groupId: string, offset: number): TxnOffsetCommitRequest {
  return {
    ...ids(p), groupId, generationId: -1, memberId: '', groupInstanceId: null,
    topics: [{ name: 'in', partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: 'm' }] }],
  };
}

/** Appends one transactional batch as the produce handler does: admitted, then written. */
async function produce(p: { producerId: number; producerEpoch: number }, topic: string, partition: number, seq: number): Promise<void> {
  const admitted = fx.coordinator.admitProduce('tx', p.producerId, p.producerEpoch, topic, partition);
  if ('error' in admitted) throw new Error(`produce refused: ${admitted.error} ${admitted.message}`);
  try {
    await fx.store.appendBatches(topic, partition, transactionalBatch(p.producerId, p.producerEpoch, seq));
  } finally {
    admitted.release();
  }
}

describe('InitProducerId with a transactional id', () => {
  it('hands out a new id at epoch 0, then bumps the epoch; both survive a restart', async () => {
    fx = await openTxnFixture();
    const first = await init(fx.coordinator);
    expect(first).toEqual({ producerId: 1000, producerEpoch: 0 });
    expect(await init(fx.coordinator)).toEqual({ producerId: 1000, producerEpoch: 1 });
    const again = await fx.restart();
    expect(again.describe('tx')).toMatchObject({ producerId: 1000, producerEpoch: 1, state: 'Empty', timeoutMs: 60_000 });
    expect(await init(again)).toEqual({ producerId: 1000, producerEpoch: 2 });
  });

  it('refuses an empty id and a timeout of 0 or over the maximum', async () => {
    fx = await openTxnFixture({ maxTimeoutMs: 900_000 });
    expect(await fx.coordinator.initProducerId('', 60_000, null)).toEqual({ error: 'INVALID_REQUEST' });
    expect(await fx.coordinator.initProducerId('tx', 0, null)).toEqual({ error: 'INVALID_TRANSACTION_TIMEOUT' });
    expect(await fx.coordinator.initProducerId('tx', 900_001, null)).toEqual({ error: 'INVALID_TRANSACTION_TIMEOUT' });
    expect(await fx.coordinator.initProducerId('tx', 900_000, null)).toEqual({ producerId: 1000, producerEpoch: 0 });
  });

  it('KIP-360: the expected epoch bumps once; a retry of that bump gets the same answer; another id is fenced', async () => {
    fx = await openTxnFixture();
    const p = await init(fx.coordinator);
    expect(await fx.coordinator.initProducerId('tx', 60_000, p)).toEqual({ producerId: 1000, producerEpoch: 1 });
    expect(await fx.coordinator.initProducerId('tx', 60_000, p)).toEqual({ producerId: 1000, producerEpoch: 1 });
    expect(await fx.coordinator.initProducerId('tx', 60_000, { producerId: 1000, producerEpoch: 7 })).toEqual({ error: 'PRODUCER_FENCED' });
    expect(await fx.coordinator.initProducerId('tx', 60_000, { producerId: 999, producerEpoch: 1 })).toEqual({ error: 'PRODUCER_FENCED' });
  });

  it('ids of any length and content are stored and found again after a restart', async () => {
    fx = await openTxnFixture();
    const long = 'x'.repeat(3_000);
    await init(fx.coordinator, long);
    await init(fx.coordinator, 'a\u0000b');
    await init(fx.coordinator, 'a');
    const again = await fx.restart();
    expect([long, 'a\u0000b', 'a'].map((id) => again.describe(id)?.producerId)).toEqual([1000, 1001, 1002]);
    expect(await init(again, long)).toEqual({ producerId: 1000, producerEpoch: 1 });
  });

  it('a new id past the cap of transactional ids is refused', async () => {
    fx = await openTxnFixture({ maxTransactionalIds: 1 });
    await init(fx.coordinator, 'a');
    expect(await fx.coordinator.initProducerId('b', 60_000, null)).toEqual({ error: 'POLICY_VIOLATION' });
    expect(fx.coordinator.stats().transactionalIds).toBe(1);
  });
});

describe('a transaction', () => {
  it('commits: COMMIT markers in every partition, the offsets applied only then', async () => {
    fx = await openTxnFixture();
    const p = await init(fx.coordinator);
    expect(await fx.coordinator.addPartitions({ ...ids(p), topics: [{ name: 'out', partitions: [0, 1] }] })).toBeNull();
    await produce(p, 'out', 0, 0);
    await produce(p, 'out', 1, 0);
    expect(await fx.coordinator.addOffsets({ ...ids(p), groupId: 'g' })).toBeNull();
    expect(await fx.coordinator.txnOffsetCommit(offsetCommit(p, 'g', 42))).toEqual([[0]]);
    expect(fx.store.fetchGroupOffsets('g')).toEqual([]);
    expect(fx.coordinator.describe('tx')).toMatchObject({ state: 'Ongoing', partitions: [['out', 0], ['out', 1]], groups: ['g'] });

    expect(await fx.coordinator.endTxn({ ...ids(p), committed: true })).toBeNull();
    for (const partition of [0, 1]) expect(markersIn(fx.store, 'out', partition)).toEqual([{ producerId: 1000, producerEpoch: 0, commit: true }]);
    expect(fx.store.fetchGroupOffsets('g')).toMatchObject([{ topic: 'in', partition: 0, offset: 42, metadata: 'm' }]);
    expect(fx.coordinator.describe('tx')).toMatchObject({ state: 'CompleteCommit', partitions: [], offsets: [], startedAt: -1 });
    expect(fx.coordinator.stats().openEntries).toBe(0);

    // A retried EndTxn is answered as the first was; the opposite outcome is refused.
    expect(await fx.coordinator.endTxn({ ...ids(p), committed: true })).toBeNull();
    expect(await fx.coordinator.endTxn({ ...ids(p), committed: false })).toBe('INVALID_TXN_STATE');
    expect(markersIn(fx.store, 'out', 0)).toHaveLength(1);
  });

  it('aborts: ABORT markers, the offsets never applied; the next transaction starts afresh', async () => {
    fx = await openTxnFixture();
    const p = await init(fx.coordinator);
    await fx.coordinator.addPartitions({ ...ids(p), topics: [{ name: 'out', partitions: [0] }] });
    await produce(p, 'out', 0, 0);
    await fx.coordinator.addOffsets({ ...ids(p), groupId: 'g' });
    await fx.coordinator.txnOffsetCommit(offsetCommit(p, 'g', 7));
    expect(await fx.coordinator.endTxn({ ...ids(p), committed: false })).toBeNull();
    expect(markersIn(fx.store, 'out', 0)).toEqual([{ producerId: 1000, producerEpoch: 0, commit: false }]);
    expect(fx.store.fetchGroupOffsets('g')).toEqual([]);

    expect(await fx.coordinator.addPartitions({ ...ids(p), topics: [{ name: 'out', partitions: [1] }] })).toBeNull();
    expect(fx.coordinator.describe('tx')).toMatchObject({ state: 'Ongoing', partitions: [['out', 1]], groups: [], offsets: [] });
  });

  it('EndTxn with nothing open, and TxnOffsetCommit for a group not added, are INVALID_TXN_STATE', async () => {
    fx = await openTxnFixture();
    const p = await init(fx.coordinator);
    expect(await fx.coordinator.endTxn({ ...ids(p), committed: true })).toBe('INVALID_TXN_STATE');
    await fx.coordinator.addPartitions({ ...ids(p), topics: [{ name: 'out', partitions: [0] }] });
    expect(await fx.coordinator.txnOffsetCommit(offsetCommit(p, 'g', 1))).toBe('INVALID_TXN_STATE');
    expect(await fx.coordinator.endTxn({ ...ids(p), producerId: 5, committed: true })).toBe('INVALID_PRODUCER_ID_MAPPING');
  });

  it('TxnOffsetCommit checks the group as Kafka does: a member id of no group, a generation of none', async () => {
    fx = await openTxnFixture();
    const p = await init(fx.coordinator);
    await fx.coordinator.addOffsets({ ...ids(p), groupId: 'g' });
    expect(await fx.coordinator.txnOffsetCommit({ ...offsetCommit(p, 'g', 1), memberId: 'm-1', generationId: 3 })).toEqual([[25]]);
    expect(await fx.coordinator.txnOffsetCommit({ ...offsetCommit(p, 'g', 1), generationId: 3 })).toEqual([[22]]);
    const unknown = offsetCommit(p, 'g', 1);
    unknown.topics[0]!.name = 'missing';
    expect(await fx.coordinator.txnOffsetCommit(unknown)).toEqual([[3]]);
    expect(fx.coordinator.describe('tx')!.offsets).toEqual([]);
  });

  it('produce is admitted only into a partition of the open transaction, at its epoch', async () => {
    fx = await openTxnFixture();
    const p = await init(fx.coordinator);
    expect(fx.coordinator.admitProduce('tx', p.producerId, 0, 'out', 0)).toMatchObject({ error: 'INVALID_TXN_STATE' });
    await fx.coordinator.addPartitions({ ...ids(p), topics: [{ name: 'out', partitions: [0] }] });
    expect(fx.coordinator.admitProduce('tx', p.producerId, 0, 'out', 1)).toMatchObject({ error: 'INVALID_TXN_STATE' });
    expect(fx.coordinator.admitProduce(null, p.producerId, 0, 'out', 0)).toMatchObject({ error: 'INVALID_TXN_STATE' });
    expect(fx.coordinator.admitProduce('tx', 77, 0, 'out', 0)).toMatchObject({ error: 'INVALID_TXN_STATE' });
    expect(fx.coordinator.admitProduce('tx', p.producerId, 1, 'out', 0)).toMatchObject({ error: 'INVALID_PRODUCER_EPOCH' });
    expect(fx.coordinator.admitProduce('tx', p.producerId, 0, 'out', 0)).toHaveProperty('release');
  });

  it('EndTxn waits for produce appends under way, and admits none once it has begun', async () => {
    fx = await openTxnFixture();
    const p = await init(fx.coordinator);
    await fx.coordinator.addPartitions({ ...ids(p), topics: [{ name: 'out', partitions: [0] }] });
    const admitted = fx.coordinator.admitProduce('tx', p.producerId, 0, 'out', 0);
    if ('error' in admitted) throw new Error(admitted.error);
    let ended = false;
    const end = fx.coordinator.endTxn({ ...ids(p), committed: true }).then((r) => { ended = true; return r; });
    await new Promise((r) => setTimeout(r, 50));
    expect(ended).toBe(false);
    expect(fx.coordinator.admitProduce('tx', p.producerId, 0, 'out', 0)).toMatchObject({ error: 'INVALID_TXN_STATE' });
    expect(await fx.coordinator.addPartitions({ ...ids(p), topics: [{ name: 'out', partitions: [1] }] })).toBe('CONCURRENT_TRANSACTIONS');
    // TxnOffsetCommit is a group API in Kafka: its clients retry "load in progress", not CONCURRENT_TRANSACTIONS.
    expect(await fx.coordinator.txnOffsetCommit(offsetCommit(p, 'g', 1))).toBe('GROUP_LOAD_IN_PROGRESS');
    await fx.store.appendBatches('out', 0, transactionalBatch(p.producerId, 0, 0));
    admitted.release();
    expect(await end).toBeNull();
    expect(fx.store.read('out', 0, 0, 1 << 20).batches).toHaveLength(2);
    expect(markersIn(fx.store, 'out', 0)).toEqual([{ producerId: 1000, producerEpoch: 0, commit: true }]);
  });

  it('a transaction that would hold more than the cap is refused, and holds what it held', async () => {
    fx = await openTxnFixture({ maxEntriesPerTransaction: 2 });
    const p = await init(fx.coordinator);
    await fx.coordinator.addPartitions({ ...ids(p), topics: [{ name: 'out', partitions: [0, 1] }] });
    expect(await fx.coordinator.addOffsets({ ...ids(p), groupId: 'g' })).toBe('POLICY_VIOLATION');
    expect(fx.coordinator.describe('tx')).toMatchObject({ partitions: [['out', 0], ['out', 1]], groups: [] });
  });
});

describe('fencing', () => {
  it('a second producer with the same id aborts the open transaction and fences the first', async () => {
    fx = await openTxnFixture();
    const zombie = await init(fx.coordinator);
    await fx.coordinator.addPartitions({ ...ids(zombie), topics: [{ name: 'out', partitions: [0] }] });
    await produce(zombie, 'out', 0, 0);

    const fresh = await init(fx.coordinator);
    // Kafka's two steps: epoch 1 fences and aborts, then the new producer's bump to 2.
    expect(fresh).toEqual({ producerId: 1000, producerEpoch: 2 });
    expect(markersIn(fx.store, 'out', 0)).toEqual([{ producerId: 1000, producerEpoch: 1, commit: false }]);

    expect(await fx.coordinator.endTxn({ ...ids(zombie), committed: true })).toBe('PRODUCER_FENCED');
    expect(await fx.coordinator.addPartitions({ ...ids(zombie), topics: [{ name: 'out', partitions: [0] }] })).toBe('PRODUCER_FENCED');
    expect(await fx.coordinator.addOffsets({ ...ids(zombie), groupId: 'g' })).toBe('PRODUCER_FENCED');
    expect(await fx.coordinator.txnOffsetCommit(offsetCommit(zombie, 'g', 1))).toBe('INVALID_PRODUCER_EPOCH');
    expect(fx.coordinator.admitProduce('tx', zombie.producerId, zombie.producerEpoch, 'out', 0)).toMatchObject({ error: 'INVALID_PRODUCER_EPOCH' });
  });

  it('PRODUCER_FENCED reaches clients that know it; older versions get INVALID_PRODUCER_EPOCH (KIP-588)', () => {
    expect(fencedFor('PRODUCER_FENCED', 1, 2)).toBe(47);
    expect(fencedFor('PRODUCER_FENCED', 2, 2)).toBe(90);
    expect(fencedFor('PRODUCER_FENCED', 3, 4)).toBe(47);
    expect(fencedFor('PRODUCER_FENCED', 4, 4)).toBe(90);
    expect(fencedFor('INVALID_TXN_STATE', 0, 2)).toBe(48);
    expect(fencedFor(null, 0, 2)).toBe(0);
  });
});

describe('the periodic check', () => {
  it('aborts a transaction open past its timeout with an epoch bump, fencing its producer', async () => {
    fx = await openTxnFixture({ checkIntervalMs: 1_000 });
    const p = await init(fx.coordinator, 'tx', 5_000);
    await fx.coordinator.addPartitions({ ...ids(p), topics: [{ name: 'out', partitions: [0] }] });
    await produce(p, 'out', 0, 0);
    await fx.coordinator.check();
    expect(fx.coordinator.describe('tx')!.state).toBe('Ongoing');
    fx.clock.advance(5_001);
    await fx.coordinator.check();
    expect(fx.coordinator.describe('tx')).toMatchObject({ state: 'CompleteAbort', producerEpoch: 1 });
    expect(markersIn(fx.store, 'out', 0)).toEqual([{ producerId: 1000, producerEpoch: 1, commit: false }]);
    expect(await fx.coordinator.endTxn({ ...ids(p), committed: true })).toBe('PRODUCER_FENCED');
  });

  it('the timer runs the check: a timed-out transaction is aborted without a request', async () => {
    fx = await openTxnFixture({ checkIntervalMs: 1_000 });
    const p = await init(fx.coordinator, 'tx', 1_500);
    await fx.coordinator.addPartitions({ ...ids(p), topics: [{ name: 'out', partitions: [0] }] });
    // The first check (at 1 s) finds it within its timeout; the one it schedules (at 2 s) does not.
    fx.clock.advance(1_000);
    await waitFor(() => fx.clock.pending === 1);
    expect(fx.coordinator.describe('tx')!.state).toBe('Ongoing');
    fx.clock.advance(2_000);
    await waitFor(() => fx.coordinator.describe('tx')!.state === 'CompleteAbort');
    expect(markersIn(fx.store, 'out', 0)).toEqual([{ producerId: 1000, producerEpoch: 1, commit: false }]);
  });

  it('an end the store could not write leaves the transaction open; the retry writes each marker once', async () => {
    let failures = 1;
    fx = await openTxnFixture({}, { out: 2, in: 1 }, (store) => new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'writeTransactionOutcome') {
          return (outcome: Parameters<typeof target.writeTransactionOutcome>[0]) =>
            failures-- > 0 ? Promise.reject(new WeirError('STORAGE_ERROR', 'injected')) : target.writeTransactionOutcome(outcome);
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }));
    const p = await init(fx.coordinator);
    await fx.coordinator.addPartitions({ ...ids(p), topics: [{ name: 'out', partitions: [0, 1] }] });
    await produce(p, 'out', 0, 0);
    await produce(p, 'out', 1, 0);
    // Nothing of the end was written: the client is told to retry, the transaction is still open.
    expect(await fx.coordinator.endTxn({ ...ids(p), committed: true })).toBe('GROUP_COORDINATOR_NOT_AVAILABLE');
    expect(fx.coordinator.describe('tx')!.state).toBe('Ongoing');
    for (const partition of [0, 1]) expect(markersIn(fx.store, 'out', partition)).toEqual([]);
    expect(await fx.coordinator.endTxn({ ...ids(p), committed: true })).toBeNull();
    expect(fx.coordinator.describe('tx')!.state).toBe('CompleteCommit');
    expect(await fx.coordinator.endTxn({ ...ids(p), committed: true })).toBeNull();
    for (const partition of [0, 1]) expect(markersIn(fx.store, 'out', partition)).toEqual([{ producerId: 1000, producerEpoch: 0, commit: true }]);
  });

  it('forgets a transactional id idle past transactional.id.expiration.ms, in memory and on disk', async () => {
    fx = await openTxnFixture({ idExpirationMs: 60_000 });
    await init(fx.coordinator, 'idle');
    const busy = await init(fx.coordinator, 'busy', 30_000);
    await fx.coordinator.addPartitions({ ...ids(busy, 'busy'), topics: [{ name: 'out', partitions: [0] }] });
    fx.clock.advance(59_000);
    await fx.coordinator.check();
    expect(fx.coordinator.describe('idle')).toBeDefined();
    fx.clock.advance(1_000);
    await fx.coordinator.check();
    expect(fx.coordinator.describe('idle')).toBeUndefined();
    // An open transaction never expires: it times out instead (after 30 s here, so it is aborted now).
    expect(fx.coordinator.describe('busy')).toMatchObject({ state: 'CompleteAbort' });
    const again = await fx.restart();
    expect(again.describe('idle')).toBeUndefined();
    expect(again.stats().transactionalIds).toBe(1);
  });
});

async function waitFor(ok: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
