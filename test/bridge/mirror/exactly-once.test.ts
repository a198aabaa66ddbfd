/**
 * `delivery: exactly-once` end to end against an upstream Weir: records and their cursors go up
 * in transactions; a read_committed reader (kcat) sees every record once, in order, with the
 * committed cursor at the edge's log end; and a restart resumes from the upstream's cursors, not
 * the local ones (here set back to 0 while the edge was down), so nothing is sent twice.
 */
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { RunningWeir } from '../../../src/main.js';
import { openTestStore } from '../../helpers/store.js';
import { checkExactlyOnce, committedCursors, readUpstream } from './exactly-once-helpers.js';
import { caughtUp, localTransactionWriter, mirrorEnv, mirrorStatusOf, originOf, setUpMirrorTest, startEdge, tearDownMirrorTest, waitForStatus, type MirrorTestSetUp } from './helpers.js';

const TOPIC = 'sensors.eo';
const UP_TOPIC = `edge.edge-1.${TOPIC}`;

let setUp: MirrorTestSetUp;
let edge: RunningWeir | undefined;

beforeEach(async () => {
  setUp = await setUpMirrorTest();
});

afterEach(async () => {
  await tearDownMirrorTest(edge, setUp);
  edge = undefined;
});

async function append(weir: RunningWeir, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i += 10) {
    for (const p of [0, 1]) {
      const records = Array.from({ length: 10 }, (_, j) => ({ key: Buffer.from(`k${i + j}`), value: Buffer.from(`p${p}-v${i + j}`) }));
      await weir.store.appendRecords(TOPIC, p, records);
    }
  }
}

/** The topic's cleanup.policy upstream (the mirror created the cursor topic). */
async function cleanupPolicy(bootstrap: string, topic: string): Promise<string | undefined> {
  const admin = new Kafka({ clientId: 'eo-test', brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
    return described.resources[0]!.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue;
  } finally {
    await admin.disconnect();
  }
}

/** The edge's record offsets per partition (no transactions here: every offset holds a record). */
function edgeOffsets(weir: RunningWeir): Map<number, number[]> {
  return new Map([0, 1].map((p) => [p, Array.from({ length: weir.store.offsets(TOPIC, p).highWatermark }, (_, i) => i)]));
}

it('sends every record once inside transactions with its cursor, and resumes from the upstream cursor, not the local one', async () => {
  const { upstream, edgeDir } = setUp;
  const env = mirrorEnv(upstream.proxy.port, { delivery: 'exactly-once', max_in_flight: 50 });
  const bootstrap = `127.0.0.1:${upstream.proxy.port}`;
  edge = await startEdge(edgeDir.dir, env);
  await edge.store.createTopic(TOPIC, { partitions: 2 });
  await append(edge, 0, 200);
  const status = await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(2));
  expect(status.rules[0]).toMatchObject({ delivery: 'exactly-once', sent: 400, acked: 400, stopped: null, connected: true });
  // A transaction holds max_in_flight records at most.
  expect(status.rules[0]!.transactions).toBeGreaterThanOrEqual(8);
  const metrics = await (await fetch(`http://127.0.0.1:${edge.adminAddress!.port}/metrics`)).text();
  expect(Number(/weir_mirror_transactions_total\{rule="r1",upstream="central"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(8);
  checkExactlyOnce(await readUpstream(bootstrap, UP_TOPIC), edgeOffsets(edge));
  const cursors = await committedCursors(bootstrap);
  expect(cursors.get(`edge-1/r1/${TOPIC}/0`)).toBe(200);
  expect(await cleanupPolicy(bootstrap, 'weir-mirror-cursors')).toBe('compact');
  expect(cursors.get(`edge-1/r1/${TOPIC}/1`)).toBe(200);
  await edge.shutdown('test');

  // The local cursors go back to 0: only a hint, the upstream's say 200.
  const local = await openTestStore(edgeDir.dir);
  for (const p of [0, 1]) await local.setCursor('mirror.r1', TOPIC, p, 0);
  await local.close();
  edge = await startEdge(edgeDir.dir, env);
  await append(edge, 200, 50);
  const again = await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(2));
  expect(again.rules[0]).toMatchObject({ sent: 100, acked: 100 });
  checkExactlyOnce(await readUpstream(bootstrap, UP_TOPIC), edgeOffsets(edge));
  // Each cursor key keeps to one partition of the cursor topic (4 here), where the last is the latest.
  const placed = new Map<string, Set<number>>();
  for (const r of await readUpstream(bootstrap, 'weir-mirror-cursors')) placed.set(r.key!, (placed.get(r.key!) ?? new Set()).add(r.partition));
  expect([...placed.values()].map((s) => s.size)).toEqual([1, 1]);
}, 60_000);

it('shows an upstream outage as not connected, and after it sends what waited, once', async () => {
  const { upstream, edgeDir } = setUp;
  edge = await startEdge(edgeDir.dir, mirrorEnv(upstream.proxy.port, { delivery: 'exactly-once', max_in_flight: 50 }));
  await edge.store.createTopic(TOPIC, { partitions: 2 });
  await append(edge, 0, 100);
  await waitForStatus(() => mirrorStatusOf(edge!), (s) => caughtUp(2)(s) && s.rules[0]!.connected);
  upstream.proxy.refuse = true;
  upstream.proxy.cutAll();
  await append(edge, 100, 100);
  const down = await waitForStatus(() => mirrorStatusOf(edge!), (s) => !s.rules[0]!.connected, 20_000);
  expect(down.rules[0]!.partitions.every((p) => p.cursor >= 100 && p.cursor <= 200)).toBe(true);
  upstream.proxy.refuse = false;
  const back = await waitForStatus(() => mirrorStatusOf(edge!), (s) => caughtUp(2)(s) && s.rules[0]!.connected, 60_000);
  expect(back.rules[0]).toMatchObject({ stopped: null, acked: 400 });
  checkExactlyOnce(await readUpstream(`127.0.0.1:${upstream.proxy.port}`, UP_TOPIC), edgeOffsets(edge));
}, 90_000);

it('stops within its stop timeout while a commit waits for an unreachable upstream, and closes the producer only after the commit returned', async () => {
  const { upstream, edgeDir } = setUp;
  edge = await startEdge(edgeDir.dir, mirrorEnv(upstream.proxy.port, { delivery: 'exactly-once' }));
  await edge.store.createTopic(TOPIC, { partitions: 2 });
  await append(edge, 0, 10);
  await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(2));
  upstream.proxy.refuse = true;
  upstream.proxy.cutAll();
  await append(edge, 10, 10);
  await waitForStatus(() => mirrorStatusOf(edge!), (s) => s.rules[0]!.inFlight > 0);
  const stopping = Date.now();
  await edge.shutdown('test');
  edge = undefined;
  // mirror.stop_timeout_ms is 3 s by default.
  expect(Date.now() - stopping).toBeLessThan(6000);
  // The commit gives up within its own 30 s; disconnecting during it used to abort the process
  // (librdkafka's "rk_ops queue disabled" assertion), which would end this test's worker here.
  await new Promise((resolve) => setTimeout(resolve, 32_000));
}, 60_000);

it('sends what local transactions committed, never what they aborted, and holds an open one, with the cursor past markers', async () => {
  const { upstream, edgeDir } = setUp;
  const topic = 'sensors.eotxn';
  edge = await startEdge(edgeDir.dir, mirrorEnv(upstream.proxy.port, { delivery: 'exactly-once' }));
  await edge.store.createTopic(topic, { partitions: 1 });
  const w = localTransactionWriter(edge, topic);
  await w.plain('before'); // 0
  await w.transactional(1, ['committed-1', 'committed-2']); // 1-2
  await w.end(1, true); // 3
  await w.transactional(2, ['aborted-1']); // 4
  await w.end(2, false); // 5
  await w.transactional(3, ['open-1']); // 6, open
  await w.plain('after-open'); // 7
  const bootstrap = `127.0.0.1:${upstream.proxy.port}`;
  const held = await waitForStatus(() => mirrorStatusOf(edge!), (s) => s.rules[0]?.partitions[0]?.cursor === 6);
  expect(held.rules[0]!.acked).toBe(3);
  expect((await committedCursors(bootstrap)).get(`edge-1/r1/${topic}/0`)).toBe(6);
  await w.end(3, true); // 8
  await waitForStatus(() => mirrorStatusOf(edge!), (s) => s.rules[0]?.partitions[0]?.cursor === 9);
  const values = (await readUpstream(bootstrap, `edge.edge-1.${topic}`)).map((r) => [originOf(r).offset, r.value]);
  expect(values).toEqual([[0, 'before'], [1, 'committed-1'], [2, 'committed-2'], [6, 'open-1'], [7, 'after-open']]);
  expect((await committedCursors(bootstrap)).get(`edge-1/r1/${topic}/0`)).toBe(9);
}, 60_000);

it('goes on with the other topics when a mirrored local topic is deleted, while sending or before it resumed', async () => {
  const { upstream, edgeDir } = setUp;
  const topics = ['sensors.gone', 'sensors.kept', 'sensors.gone2'];
  // Unreachable at first: the partitions are found, and one topic deleted, before the rule resumes.
  upstream.proxy.refuse = true;
  edge = await startEdge(edgeDir.dir, mirrorEnv(upstream.proxy.port, { delivery: 'exactly-once' }));
  for (const t of topics) await edge.store.createTopic(t, { partitions: 1 });
  for (const t of topics) await edge.store.appendRecords(t, 0, [{ key: null, value: Buffer.from(`${t}-0`) }]);
  await waitForStatus(() => mirrorStatusOf(edge!), (s) => s.rules[0]!.partitions.length === 3);
  await edge.store.deleteTopic('sensors.gone2');
  upstream.proxy.refuse = false;
  await waitForStatus(() => mirrorStatusOf(edge!), (s) => s.rules[0]!.partitions.length === 2 && s.rules[0]!.partitions.every((p) => p.cursor === 1));
  // Deleted while the rule runs.
  await edge.store.deleteTopic('sensors.gone');
  await edge.store.appendRecords('sensors.kept', 0, [{ key: null, value: Buffer.from('sensors.kept-1') }]);
  const after = await waitForStatus(() => mirrorStatusOf(edge!), (s) => s.rules[0]!.partitions.length === 1 && s.rules[0]!.partitions[0]!.cursor === 2);
  expect(after.rules[0]).toMatchObject({ connected: true, stopped: null, acked: 3 });
  expect((await readUpstream(`127.0.0.1:${upstream.proxy.port}`, 'edge.edge-1.sensors.kept')).map((r) => r.value)).toEqual(['sensors.kept-0', 'sensors.kept-1']);
}, 60_000);

it('gives every backlogged partition its turn, one partition further on each transaction', async () => {
  const { upstream, edgeDir } = setUp;
  // 50 records a transaction, slowed down by max_bytes_per_second so that the status sees the first few.
  edge = await startEdge(edgeDir.dir, mirrorEnv(upstream.proxy.port, { delivery: 'exactly-once', max_in_flight: 50, max_bytes_per_second: 2000 }));
  await edge.store.createTopic(TOPIC, { partitions: 2 });
  await append(edge, 0, 300);
  const early = await waitForStatus(() => mirrorStatusOf(edge!), (s) => s.rules[0]!.acked >= 100 && s.rules[0]!.partitions.length === 2);
  expect(early.rules[0]!.acked).toBeLessThan(300);
  // A partition's chunk alone fills a transaction: with a fixed order the first would take them all.
  expect(early.rules[0]!.partitions.map((p) => p.cursor > 0)).toEqual([true, true]);
}, 60_000);
