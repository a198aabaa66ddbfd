/**
 * Fencing (KIP-98) of `delivery: exactly-once`: two edges started with the same device id and
 * rule share a transactional.id. The second's initTransactions fences the first, which must stop
 * writing (its next transaction fails fenced, its records are never committed), say so in its
 * status and in an error log line with code MIRROR_FENCED, and stay stopped instead of fencing
 * the second back. Only the second writes from then on; a read_committed reader upstream sees the
 * first's records up to the takeover and the second's after it, and none of the first's later ones.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { RunningWeir } from '../../../src/main.js';
import { tempDir } from '../../helpers/store.js';
import { readUpstream } from './exactly-once-helpers.js';
import { capturingLogger, mirrorEnv, mirrorStatusOf, setUpMirrorTest, startEdge, tearDownMirrorTest, waitForStatus, type MirrorTestSetUp } from './helpers.js';

const TOPIC = 'sensors.fence';
const UP_TOPIC = `edge.edge-1.${TOPIC}`;

let setUp: MirrorTestSetUp;
let first: RunningWeir | undefined;
let second: RunningWeir | undefined;
const secondDir = tempDir('weir-edge-second-');

beforeEach(async () => {
  setUp = await setUpMirrorTest();
});

afterEach(async () => {
  await second?.shutdown('test end');
  second = undefined;
  await tearDownMirrorTest(first, setUp);
  first = undefined;
  secondDir.cleanup();
});

async function append(weir: RunningWeir, prefix: string, from: number, count: number): Promise<void> {
  const records = Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`${prefix}-${from + i}`) }));
  await weir.store.appendRecords(TOPIC, 0, records);
}

it('a second edge with the same device id fences the first, which stops writing and says why', async () => {
  const { upstream, edgeDir } = setUp;
  const env = mirrorEnv(upstream.proxy.port, { delivery: 'exactly-once' });
  const firstLog = capturingLogger();
  first = await startEdge(edgeDir.dir, env, firstLog.logger);
  await first.store.createTopic(TOPIC, { partitions: 1 });
  await append(first, 'first', 0, 100);
  await waitForStatus(() => mirrorStatusOf(first!), (s) => s.rules[0]?.partitions[0]?.cursor === 100);

  // The second gateway, same identity, its own log: it resumes at the upstream cursor (100).
  second = await startEdge(secondDir.dir, env);
  await second.store.createTopic(TOPIC, { partitions: 1 });
  await append(second, 'second', 0, 300);
  await waitForStatus(() => mirrorStatusOf(second!), (s) => s.rules[0]?.partitions[0]?.cursor === 300);

  // The first writes again: its transaction is refused and it stops for good.
  await append(first, 'late', 100, 50);
  const fenced = await waitForStatus(() => mirrorStatusOf(first!), (s) => s.rules[0]?.stopped !== null && s.rules[0]?.stopped !== undefined);
  expect(fenced.rules[0]!.stopped).toMatch(/fenced: another gateway started with device\.id "edge-1"/);
  expect(fenced.rules[0]!.partitions[0]!.cursor).toBe(100);
  const line = firstLog.lines.find((l) => l.level === 50 && String(l.msg).includes('fenced'));
  expect(line).toMatchObject({ code: 'MIRROR_FENCED', rule: 'r1' });
  // It stays stopped: no new producer that would fence the second back.
  await append(first, 'later', 150, 50);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  expect((await mirrorStatusOf(first)).rules[0]).toMatchObject({ stopped: fenced.rules[0]!.stopped, acked: 100, connected: false });
  await append(second, 'second', 300, 20);
  await waitForStatus(() => mirrorStatusOf(second!), (s) => s.rules[0]?.partitions[0]?.cursor === 320 && s.rules[0].stopped === null);

  const values = (await readUpstream(`127.0.0.1:${upstream.proxy.port}`, UP_TOPIC)).map((r) => r.value);
  const expected = [...Array.from({ length: 100 }, (_, i) => `first-${i}`), ...Array.from({ length: 220 }, (_, i) => `second-${100 + i}`)];
  expect(values).toEqual(expected);
}, 60_000);
