/**
 * The mirror end to end: an in-process edge Weir mirrors to a second Weir process through the
 * fault proxy. Happy path (order, key, value, timestamp, headers, origin headers); an outage
 * under load; a connection cut mid-response; an upstream restart (its idempotent-producer state
 * is in memory, so it forgets the mirror's producer id); a slow, throttled link.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { partitionForKey } from '../../../src/kafka/protocol/murmur2.js';
import type { RunningWeir } from '../../../src/main.js';
import { caughtUp, checkArrived, mirrorEnv, mirrorStatusOf, setUpMirrorTest, startEdge, tearDownMirrorTest, waitForStatus, type Upstream } from './helpers.js';

let upstream: Upstream;
let edge: RunningWeir | undefined;
let edgeDir: { dir: string; cleanup(): void };

beforeEach(async () => {
  ({ upstream, edgeDir } = await setUpMirrorTest());
});

afterEach(async () => {
  await tearDownMirrorTest(edge, { upstream, edgeDir });
  edge = undefined;
});

async function append(weir: RunningWeir, topic: string, partitions: number, perPartition: number, from = 0, tag = 'v'): Promise<void> {
  const jobs: Promise<unknown>[] = [];
  for (let p = 0; p < partitions; p++) {
    for (let i = from; i < from + perPartition; i += 500) {
      const n = Math.min(500, from + perPartition - i);
      jobs.push(
        weir.store.appendRecords(
          topic,
          p,
          Array.from({ length: n }, (_, j) => ({
            key: Buffer.from(`k${p}-${i + j}`),
            value: Buffer.from(`${tag}${p}-${i + j}`),
            timestamp: 1_700_000_000_000 + i + j,
            headers: [{ key: 'app', value: Buffer.from(`h${i + j}`) }],
          })),
        ),
      );
    }
  }
  await Promise.all(jobs);
}

it('mirrors every record in order per partition with key, value, timestamp, headers and origin headers', async () => {
  edge = await startEdge(edgeDir.dir, mirrorEnv(upstream.proxy.port));
  await edge.store.createTopic('sensors.a', { partitions: 3 });
  await edge.store.createTopic('other', { partitions: 1 });
  await append(edge, 'sensors.a', 3, 1000);
  await append(edge, 'other', 1, 10);
  const status = await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(3));
  expect(status.rules[0]!.connected).toBe(true);
  expect(status.rules[0]!.partitions.map((p) => p.cursor)).toEqual([1000, 1000, 1000]);

  const records = await upstream.records('edge.edge-1.sensors.a');
  const { duplicates, byPartition } = checkArrived(records, new Map([[0, 1000], [1, 1000], [2, 1000]]));
  expect(duplicates).toBe(0);
  // partitioning: same — origin partition p went to upstream partition p, in offset order.
  for (const [p, list] of byPartition) {
    list.forEach((r, i) => {
      expect(r.partition).toBe(p);
      expect(r.offset).toBe(i);
      expect(r.key).toBe(`k${p}-${i}`);
      expect(r.value).toBe(`v${p}-${i}`);
      expect(r.timestamp).toBe(1_700_000_000_000 + i);
      // origin_headers: compact (the default): one header after the record's own.
      expect(r.headers).toEqual({ app: `h${i}`, 'weir.origin': `edge-1/sensors.a/${p}/${i}` });
    });
  }
  // Not matched by the rule: not mirrored.
  expect(await upstream.records('edge.edge-1.other')).toEqual([]);
}, 60_000);

it.each(['weir', 'librdkafka'])('partitioning: key puts each keyed record where Java\'s murmur2 partitioner would, and sends every record once (client %s)', async (client) => {
  edge = await startEdge(edgeDir.dir, mirrorEnv(upstream.proxy.port, { partitioning: 'key', client }));
  await edge.store.createTopic('sensors.k', { partitions: 2 });
  for (let p = 0; p < 2; p++) {
    await edge.store.appendRecords('sensors.k', p, Array.from({ length: 400 }, (_, i) => ({ key: i % 4 === 3 ? null : Buffer.from(`key-${p}-${i % 50}`), value: Buffer.from(`v${p}-${i}`) })));
  }
  await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(2));
  const records = await upstream.records('edge.edge-1.sensors.k');
  expect(new Set(records.map((r) => r.value)).size).toBe(800);
  // The upstream's topics have 4 partitions (startUpstream).
  for (const r of records) if (r.key !== null) expect(r.partition).toBe(partitionForKey(Buffer.from(r.key), 4));
  // Null keys go anywhere, but all of them arrive.
  expect(records.filter((r) => r.key === null)).toHaveLength(200);
}, 60_000);

it('a local partition the upstream topic lacks is reported and retried, and costs the other partitions nothing', async () => {
  // A window smaller than the stuck partitions' records: held in the client, they would stop the rule.
  edge = await startEdge(edgeDir.dir, mirrorEnv(upstream.proxy.port, { max_in_flight: 1000 }));
  // The upstream creates its topics with 4 partitions (startUpstream): local partitions 4 and 5 have nowhere to go.
  await edge.store.createTopic('sensors.wide', { partitions: 6 });
  await append(edge, 'sensors.wide', 6, 2000);
  const status = await waitForStatus(
    () => mirrorStatusOf(edge!),
    (s) => s.rules[0]!.partitions.filter((p) => p.partition < 4 && p.lagRecords === 0 && p.logEndOffset === 2000).length === 4 && s.rules[0]!.lastError !== null,
  );
  expect(status.rules[0]!.lastError!.message).toMatch(/has 4 partitions: there is no partition [45]/);
  expect(status.rules[0]!.partitions.filter((p) => p.partition >= 4).map((p) => p.cursor)).toEqual([0, 0]);
  const { duplicates, byPartition } = checkArrived(await upstream.records('edge.edge-1.sensors.wide'), new Map([[0, 2000], [1, 2000], [2, 2000], [3, 2000]]));
  expect(duplicates).toBe(0);
  expect([...byPartition.keys()].sort()).toEqual([0, 1, 2, 3]);
}, 60_000);

it('origin_headers: none sends each record with its own headers only, in order per partition', async () => {
  edge = await startEdge(edgeDir.dir, mirrorEnv(upstream.proxy.port, { origin_headers: 'none' }));
  await edge.store.createTopic('sensors.n', { partitions: 2 });
  await append(edge, 'sensors.n', 2, 300);
  await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(2));
  const records = await upstream.records('edge.edge-1.sensors.n');
  expect(records).toHaveLength(600);
  for (const p of [0, 1]) {
    const values = records.filter((r) => r.partition === p).map((r) => [r.value, r.headers]);
    expect(values).toEqual(Array.from({ length: 300 }, (_, i) => [`v${p}-${i}`, { app: `h${i}` }]));
  }
}, 60_000);

it('origin_headers: four gives every record the four origin headers instead of the compact one', async () => {
  edge = await startEdge(edgeDir.dir, mirrorEnv(upstream.proxy.port, { origin_headers: 'four' }, { WEIR_DEVICE__ID: 'site/7' }));
  await edge.store.createTopic('sensors.f', { partitions: 2 });
  await append(edge, 'sensors.f', 2, 300);
  await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(2));
  const records = await upstream.records('edge.site.7.sensors.f');
  const { duplicates, byPartition } = checkArrived(records, new Map([[0, 300], [1, 300]]), 'site/7');
  expect(duplicates).toBe(0);
  for (const [p, list] of byPartition) {
    list.forEach((r, i) => {
      expect(r.headers).toEqual({
        app: `h${i}`,
        'weir.origin.device': 'site/7',
        'weir.origin.topic': 'sensors.f',
        'weir.origin.partition': String(p),
        'weir.origin.offset': String(i),
      });
    });
  }
}, 60_000);

it('holds records through an upstream outage under load and delivers all of them after it, duplicates within the in-flight window', async () => {
  const maxInFlight = 2000;
  edge = await startEdge(edgeDir.dir, mirrorEnv(upstream.proxy.port, { max_in_flight: maxInFlight }));
  await edge.store.createTopic('sensors.b', { partitions: 2 });
  await append(edge, 'sensors.b', 2, 2000);
  await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(2));

  // Outage: the link goes dark (black hole), then the upstream dies; appends continue meanwhile.
  upstream.proxy.blackhole = true;
  const writing = append(edge, 'sensors.b', 2, 8000, 2000);
  await new Promise((r) => setTimeout(r, 1500));
  await upstream.stop('SIGKILL');
  upstream.proxy.cutAll();
  upstream.proxy.blackhole = false;
  upstream.proxy.refuse = true;
  await writing;
  const during = await waitForStatus(() => mirrorStatusOf(edge!), (s) => !s.rules[0]!.connected, 30_000);
  expect(during.rules[0]!.lastError).not.toBeNull();
  expect(during.rules[0]!.inFlight).toBeLessThanOrEqual(maxInFlight);
  const lag = during.rules[0]!.partitions.reduce((n, p) => n + p.lagRecords, 0);
  expect(lag).toBeGreaterThan(0);
  expect(during.rules[0]!.partitions.every((p) => p.oldestUnsentAgeMs !== null)).toBe(true);

  upstream.proxy.refuse = false;
  await upstream.start();
  await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(2), 60_000);
  const { duplicates } = checkArrived(await upstream.records('edge.edge-1.sensors.b'), new Map([[0, 10_000], [1, 10_000]]));
  // The upstream was killed: batches it had made durable but not answered are sent again.
  expect(duplicates).toBeLessThanOrEqual(maxInFlight);
}, 90_000);

it('survives connections cut mid-response, an upstream restart and a slow throttled link', async () => {
  edge = await startEdge(edgeDir.dir, mirrorEnv(upstream.proxy.port, { max_in_flight: 1000, batch_size: 200 }));
  await edge.store.createTopic('sensors.c', { partitions: 2 });
  // Cut mid-response, several times, while a backlog drains.
  await append(edge, 'sensors.c', 2, 3000);
  for (let i = 0; i < 4; i++) {
    upstream.proxy.cutAfterResponseBytes = 300 + i * 7;
    await new Promise((r) => setTimeout(r, 300));
  }
  await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(2), 60_000);
  expect(upstream.proxy.cuts).toBeGreaterThan(0);

  // Upstream restart (graceful): its producer state is gone; the mirror goes on.
  await append(edge, 'sensors.c', 2, 1000, 3000);
  await upstream.stop('SIGTERM');
  await upstream.start();
  await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(2), 60_000);

  // Slow link: 40 ms each way and 200 KB/s.
  upstream.proxy.delayMs = 40;
  upstream.proxy.bytesPerSecond = 200_000;
  await append(edge, 'sensors.c', 2, 1000, 4000);
  await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(2), 60_000);
  upstream.proxy.delayMs = 0;
  upstream.proxy.bytesPerSecond = 0;

  const { duplicates } = checkArrived(await upstream.records('edge.edge-1.sensors.c'), new Map([[0, 5000], [1, 5000]]));
  expect(duplicates).toBeLessThanOrEqual(3 * 1000);
}, 120_000);
