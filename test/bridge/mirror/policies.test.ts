/**
 * The mirror's policies against a real upstream Weir:
 * - a record the upstream refuses for good (bigger than the upstream topic's max.message.bytes):
 *   `on_refused: skip` dead-letters it locally, counts it and goes on; `stop` stops the rule with
 *   the reason and never moves the cursor past it;
 * - retention pressure during an outage: `weir.overflow.policy: block` deletes nothing the mirror
 *   has not sent; `drop-oldest` deletes, and the mirror counts and reports the drops.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { decodeRecordBatch } from '../../../src/kafka/protocol/record-batch.js';
import type { RunningWeir } from '../../../src/main.js';
import { caughtUp, mirrorEnv, mirrorStatusOf, originOf, setUpMirrorTest, startEdge, tearDownMirrorTest, waitForStatus, type Upstream } from './helpers.js';

let upstream: Upstream;
let edge: RunningWeir | undefined;
let edgeDir: { dir: string; cleanup(): void };

beforeEach(async () => {
  ({ upstream, edgeDir } = await setUpMirrorTest({ WEIR_TOPIC_DEFAULTS__MAX_MESSAGE_BYTES: '20000' }));
});

afterEach(async () => {
  await tearDownMirrorTest(edge, { upstream, edgeDir });
  edge = undefined;
});

async function appendWithBigRecord(weir: RunningWeir, topic: string): Promise<void> {
  await weir.store.createTopic(topic, { partitions: 1 });
  const small = (i: number) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`small-${i}`) });
  await weir.store.appendRecords(topic, 0, Array.from({ length: 20 }, (_, i) => small(i)));
  await weir.store.appendRecords(topic, 0, [{ key: Buffer.from('big'), value: randomBytes(50_000) }]);
  await weir.store.appendRecords(topic, 0, Array.from({ length: 20 }, (_, i) => small(21 + i)));
}

function originOffsets(records: { headers: Record<string, string> }[]): number[] {
  return records.map((r) => originOf(r).offset);
}

it('on_refused: skip dead-letters a record the upstream refuses for good, counts it, and mirrors the rest in order', async () => {
  // Random bytes: lz4 must not shrink the big record under the upstream's 20000-byte limit.
  edge = await startEdge(edgeDir.dir, mirrorEnv(upstream.proxy.port, { on_refused: 'skip', dead_letter_topic: 'mirror.dlq' }));
  await appendWithBigRecord(edge, 'sensors.big');
  const s = await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(1), 60_000);
  expect(s.rules[0]!.refused).toBe(1);
  expect(s.rules[0]!.deadLettered).toBe(1);
  expect(s.rules[0]!.stopped).toBeNull();
  expect(s.rules[0]!.partitions[0]!.cursor).toBe(41);

  // The refused record, whole, in the local dead-letter topic with its origin and the reason.
  const dlq = edge.store.read('mirror.dlq', 0, 0, 1 << 20);
  const dead = dlq.batches.flatMap((b) => decodeRecordBatch(b).records);
  expect(dead).toHaveLength(1);
  expect(dead[0]!.value!.length).toBe(50_000);
  const headers = Object.fromEntries(dead[0]!.headers.map((h) => [h.key, h.value?.toString()]));
  expect(headers['weir.origin.offset']).toBe('20');
  expect(headers['weir.mirror.rule']).toBe('r1');
  expect(headers['weir.mirror.error']).toMatch(/size|large/i);
  const metrics = await (await fetch(`http://127.0.0.1:${edge.adminAddress!.port}/metrics`)).text();
  expect(metrics).toMatch(/weir_mirror_refused_records_total\{rule="r1",upstream="central"\} 1/);

  // Upstream: every other record, once each, in order (duplicates dropped by origin offset).
  const seen = new Set<number>();
  const order = originOffsets(await upstream.records('edge.edge-1.sensors.big')).filter((o) => !seen.has(o) && seen.add(o));
  expect(order).toEqual([...Array.from({ length: 20 }, (_, i) => i), ...Array.from({ length: 20 }, (_, i) => 21 + i)]);
}, 60_000);

it('on_refused: stop stops the rule at the refused record and says why', async () => {
  edge = await startEdge(edgeDir.dir, mirrorEnv(upstream.proxy.port, { on_refused: 'stop' }));
  await appendWithBigRecord(edge, 'sensors.big');
  const s = await waitForStatus(() => mirrorStatusOf(edge!), (x) => x.rules[0]?.stopped != null && x.rules[0].partitions[0]?.cursor === 20, 60_000);
  expect(s.rules[0]!.stopped).toMatch(/refused sensors\.big\[0\] offset 20 for good/);
  expect(s.rules[0]!.partitions[0]!.lagRecords).toBe(21);
  // The stopped rule does not move; nothing past the refused record was taken as delivered.
  await new Promise((r) => setTimeout(r, 1000));
  expect((await mirrorStatusOf(edge)).rules[0]!.partitions[0]!.cursor).toBe(20);
  const readyz = await (await fetch(`http://127.0.0.1:${edge.adminAddress!.port}/readyz`)).json() as { ready: boolean; info: Record<string, string> };
  expect(readyz.ready).toBe(true);
  expect(readyz.info.mirror).toMatch(/refused/);
  await edge.shutdown('test end');
  edge = undefined;
  const seen = new Set<number>();
  const order = originOffsets(await upstream.records('edge.edge-1.sensors.big')).filter((o) => !seen.has(o) && seen.add(o));
  expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
}, 60_000);

it('under retention pressure during an outage, block keeps everything unmirrored and drop-oldest counts its drops', async () => {
  upstream.proxy.refuse = true;
  edge = await startEdge(edgeDir.dir, mirrorEnv(upstream.proxy.port));
  const configs = (policy: string) => ({ 'segment.bytes': '4096', 'retention.bytes': '8192', 'weir.overflow.policy': policy });
  await edge.store.createTopic('sensors.block', { partitions: 1, configs: configs('block') });
  await edge.store.createTopic('sensors.drop', { partitions: 1, configs: configs('drop-oldest') });
  await waitForStatus(() => mirrorStatusOf(edge!), (s) => s.rules[0]!.partitions.length === 2);
  for (let i = 0; i < 40; i++) {
    const records = Array.from({ length: 25 }, (_, j) => ({ key: null, value: Buffer.from(`v${i * 25 + j}`.padEnd(40, '.')) }));
    await Promise.all([edge.store.appendRecords('sensors.block', 0, records), edge.store.appendRecords('sensors.drop', 0, records)]);
  }
  await edge.store.runRetention();
  expect(edge.store.offsets('sensors.block', 0).logStartOffset).toBe(0);
  const dropStart = edge.store.offsets('sensors.drop', 0).logStartOffset;
  expect(dropStart).toBeGreaterThan(0);
  const during = await mirrorStatusOf(edge);
  const drop = during.rules[0]!.partitions.find((p) => p.topic === 'sensors.drop')!;
  expect(drop.dropped).toBe(dropStart);
  expect(during.rules[0]!.connected).toBe(false);
  const metrics = await (await fetch(`http://127.0.0.1:${edge.adminAddress!.port}/metrics`)).text();
  expect(metrics).toContain(`weir_mirror_dropped_records{rule="r1",topic="sensors.drop",partition="0"} ${dropStart}`);

  upstream.proxy.refuse = false;
  await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(2), 60_000);
  const blocked = new Set(originOffsets(await upstream.records('edge.edge-1.sensors.block')));
  expect(blocked.size).toBe(1000);
  const dropped = new Set(originOffsets(await upstream.records('edge.edge-1.sensors.drop')));
  expect(dropped.size).toBe(1000 - dropStart);
  expect(Math.min(...dropped)).toBe(dropStart);
}, 60_000);
