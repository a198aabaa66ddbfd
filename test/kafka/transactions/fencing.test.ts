/**
 * Zombie fencing (KIP-98) against `weir start`: two transactional producers with the same
 * transactional.id, one of each client (txn-clients.ts), both ways round. The first (the zombie)
 * has a transaction open with records delivered on two partitions when the second inits: that
 * init bumps the epoch and aborts the open transaction, so read_committed shows none of the
 * zombie's records and the last stable offset is back at the high watermark. The zombie's next
 * send is refused, and its commit fails fenced (librdkafka reports the broker's PRODUCER_FENCED
 * or INVALID_PRODUCER_EPOCH as its fatal _FENCED); the second producer's transaction commits, and
 * only its records are visible under read_committed. The refused send is not stored at all.
 */
import { describe, expect, it } from 'vitest';
import { latestOffsets, readWithCkjs, readWithKcat } from './readers.js';
import { startCkjsTxnClient, startPythonTxnClient, TxnFailed, type TxnClient, type TxnClientFactory, type TxnErrorInfo } from './txn-clients.js';
import { useWeir } from './weir-fixture.js';

const weir = useWeir('txn-fencing');
/** How librdkafka reports a fenced producer: its own fatal _FENCED, or the broker's code. */
const FENCED = ['_FENCED', 'PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH'];

const PAIRS: [string, TxnClientFactory, TxnClientFactory][] = [
  ['kafka-javascript fenced by python', startCkjsTxnClient, startPythonTxnClient],
  ['python fenced by kafka-javascript', startPythonTxnClient, startCkjsTxnClient],
];

async function failure(op: Promise<unknown>): Promise<TxnErrorInfo | null> {
  try {
    await op;
    return null;
  } catch (err) {
    if (err instanceof TxnFailed) return err.info;
    throw err;
  }
}

describe.each(PAIRS)('%s (same transactional.id)', (label, startZombie, startFresh) => {
  it('the second init aborts the first\'s open transaction and fences it; only the second\'s records are visible', async () => {
    const topic = `fenced-${label.split(' ')[0]}`;
    const id = `fenced-${label.split(' ')[0]}`;
    await weir().admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    const clients: TxnClient[] = [];
    try {
      const zombie = await startZombie(weir().bootstrap, id);
      clients.push(zombie);
      await zombie.init();
      await zombie.begin();
      await zombie.send(topic, [[0, 'zombie-0'], [1, 'zombie-1']]);
      expect(await latestOffsets(weir().bootstrap, topic, 2, 'read_committed')).toEqual([0, 0]);

      const fresh = await startFresh(weir().bootstrap, id);
      clients.push(fresh);
      await fresh.init();
      // The zombie's transaction was aborted: a marker after each of its records, nothing open.
      expect(await latestOffsets(weir().bootstrap, topic, 2, 'read_committed')).toEqual([2, 2]);
      expect(await latestOffsets(weir().bootstrap, topic, 2, 'read_uncommitted')).toEqual([2, 2]);
      expect(await readWithKcat(weir().bootstrap, topic, 'read_committed')).toEqual([]);

      await fresh.begin();
      await fresh.send(topic, [[0, 'fresh-0'], [1, 'fresh-1']]);
      const sendError = await failure(zombie.send(topic, [[0, 'zombie-2']]));
      const commitError = await failure(zombie.commit());
      console.log(`${label}: the zombie's send failed with ${sendError?.name ?? 'nothing'}, its commit with ${commitError?.name ?? 'nothing'} (fatal: ${commitError?.fatal})`);
      expect(FENCED).toContain(sendError?.name);
      expect(FENCED).toContain(commitError?.name);
      expect(commitError?.fatal).toBe(true);
      await fresh.commit();

      const fresh2 = [[0, 2, 'fresh-0'], [1, 2, 'fresh-1']];
      expect(await readWithKcat(weir().bootstrap, topic, 'read_committed')).toEqual(fresh2);
      expect(await readWithCkjs(weir().bootstrap, topic, 2, 'read_committed')).toEqual(fresh2);
      // The refused send left nothing behind: zombie-2 is nowhere, read_uncommitted either.
      expect(await readWithKcat(weir().bootstrap, topic, 'read_uncommitted')).toEqual([[0, 0, 'zombie-0'], [0, 2, 'fresh-0'], [1, 0, 'zombie-1'], [1, 2, 'fresh-1']]);
      expect(await latestOffsets(weir().bootstrap, topic, 2, 'read_committed')).toEqual([4, 4]);
    } finally {
      for (const c of clients) await c.close().catch(() => undefined);
    }
  });
});
