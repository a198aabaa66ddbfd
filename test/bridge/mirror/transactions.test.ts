/**
 * The mirror and transactions (KIP-98), end to end: an edge Weir (in this process) holds
 * transactional batches and markers written through its store (client-built batches, as a
 * transactional producer's Produce stores them), and mirrors to an upstream Weir. The upstream
 * must get each committed transaction's records once, as ordinary records at their origin
 * offsets, never an aborted transaction's records nor a marker; an open transaction's records,
 * and everything after them, wait for its marker; the cursor passes markers and aborted ranges
 * and reaches the log end; and the status does not count the held range as lag.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { RunningWeir } from '../../../src/main.js';
import { localTransactionWriter, mirrorEnv, mirrorStatusOf, originOf, setUpMirrorTest, startEdge, tearDownMirrorTest, waitForStatus, type MirrorTestSetUp } from './helpers.js';

const TOPIC = 'sensors.txn';

let setUp: MirrorTestSetUp;
let edge: RunningWeir | undefined;

beforeEach(async () => {
  // Records over 20,000 bytes are refused upstream (the second test sends one).
  setUp = await setUpMirrorTest({ WEIR_TOPIC_DEFAULTS__MAX_MESSAGE_BYTES: '20000' });
});

afterEach(async () => {
  await tearDownMirrorTest(edge, setUp);
  edge = undefined;
});

it('sends committed transactions once as ordinary records, never aborted ones or markers, and holds an open one until its commit', async () => {
  const { upstream } = setUp;
  edge = await startEdge(setUp.edgeDir.dir, mirrorEnv(upstream.proxy.port));
  await edge.store.createTopic(TOPIC, { partitions: 1 });
  const w = localTransactionWriter(edge, TOPIC);
  expect(await w.plain('before')).toBe(0);
  expect(await w.transactional(1, ['committed-1', 'committed-2'])).toBe(1); // 1-2
  expect(await w.end(1, true)).toBe(3);
  expect(await w.transactional(2, ['aborted-1', 'aborted-2'])).toBe(4); // 4-5
  expect(await w.end(2, false)).toBe(6);
  expect(await w.plain('between')).toBe(7);
  expect(await w.transactional(3, ['open-1'])).toBe(8); // open
  expect(await w.plain('after-open')).toBe(9);
  expect(await w.transactional(3, ['open-2'])).toBe(10);
  expect(edge.store.offsets(TOPIC, 0)).toMatchObject({ highWatermark: 11, lastStableOffset: 8 });

  // The mirror reaches the last stable offset and stops there: 'before', the committed pair and
  // 'between' are sent, nothing of the open transaction nor after it, and nothing is lag.
  const held = await waitForStatus(() => mirrorStatusOf(edge!), (s) => s.rules[0]?.partitions[0]?.cursor === 8 && s.rules[0].acked === 4);
  expect(held.rules[0]!.partitions[0]).toMatchObject({ cursor: 8, logEndOffset: 11, lagRecords: 0, oldestUnsentAgeMs: null });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const stillHeld = await mirrorStatusOf(edge);
  expect(stillHeld.rules[0]).toMatchObject({ sent: 4, acked: 4 });
  expect(stillHeld.rules[0]!.partitions[0]!.cursor).toBe(8);

  // The commit releases the open transaction and what came after it; the log ends in a marker.
  expect(await w.end(3, true)).toBe(11);
  const done = await waitForStatus(() => mirrorStatusOf(edge!), (s) => s.rules[0]?.partitions[0]?.cursor === 12);
  expect(done.rules[0]).toMatchObject({ sent: 7, acked: 7 });
  expect(done.rules[0]!.partitions[0]).toMatchObject({ cursor: 12, logEndOffset: 12, lagRecords: 0 });

  // An aborted transaction at the log end: passed, not sent, and the cursor reaches the end.
  expect(await w.transactional(4, ['aborted-at-end'])).toBe(12);
  expect(await w.end(4, false)).toBe(13);
  const end = await waitForStatus(() => mirrorStatusOf(edge!), (s) => s.rules[0]?.partitions[0]?.cursor === 14);
  expect(end.rules[0]).toMatchObject({ sent: 7, acked: 7 });

  const arrived = (await upstream.records(`edge.edge-1.${TOPIC}`)).map((r) => [originOf(r).offset, r.value]);
  expect(arrived).toEqual([
    [0, 'before'],
    [1, 'committed-1'],
    [2, 'committed-2'],
    [7, 'between'],
    [8, 'open-1'],
    [9, 'after-open'],
    [10, 'open-2'],
  ]);
}, 60_000);

it('walks an aborted range and markers one stored batch at a time when it isolates a refused record, sending none of them', async () => {
  const { upstream } = setUp;
  upstream.proxy.refuse = true;
  edge = await startEdge(setUp.edgeDir.dir, mirrorEnv(upstream.proxy.port, { on_refused: 'skip', dead_letter_topic: 'mirror.dlq' }));
  await edge.store.createTopic(TOPIC, { partitions: 1 });
  const w = localTransactionWriter(edge, TOPIC);
  expect(await w.plain('first')).toBe(0);
  expect(await w.transactional(1, ['aborted-1', 'aborted-2'])).toBe(1); // 1-2
  expect(await w.end(1, false)).toBe(3);
  // Random, so that no compression brings it under the upstream's limit.
  expect(await w.plain(randomBytes(30_000).toString('base64'))).toBe(4);
  expect(await w.transactional(2, ['committed'])).toBe(5);
  expect(await w.end(2, true)).toBe(6);
  expect(await w.plain('last')).toBe(7);

  // The upstream comes back: the batch holding the big record is refused whole, and the mirror
  // resends from its cursor one stored batch at a time, each read with its own aborted list.
  upstream.proxy.refuse = false;
  const done = await waitForStatus(() => mirrorStatusOf(edge!), (s) => s.rules[0]?.partitions[0]?.cursor === 8);
  expect(done.rules[0]).toMatchObject({ refused: 1, deadLettered: 1 });
  expect(done.rules[0]!.partitions[0]).toMatchObject({ cursor: 8, logEndOffset: 8, lagRecords: 0 });
  // 4, 5 and 7 at least were sent again, one at a time: the rewind began at or below offset 1,
  // so the isolating reads walked the aborted batch and both markers.
  expect(done.rules[0]!.partitions[0]!.resent).toBeGreaterThanOrEqual(3);

  const arrived = (await upstream.records(`edge.edge-1.${TOPIC}`)).map((r) => [originOf(r).offset, r.value]);
  expect(arrived).toEqual([
    [0, 'first'],
    [5, 'committed'],
    [7, 'last'],
  ]);
}, 60_000);
