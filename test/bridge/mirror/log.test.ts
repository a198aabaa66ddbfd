/**
 * What the mirror's log tells a reader: the loss of the upstream with the reason of that loss (not
 * an older connect failure), then its return with how long it was lost and the backlog to drain,
 * in that order; and no MaxListenersExceededWarning from the waits on the rule's stop signal.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { RunningWeir } from '../../../src/main.js';
import { capturingLogger, caughtUp, mirrorEnv, mirrorStatusOf, setUpMirrorTest, startEdge, tearDownMirrorTest, waitForStatus, type Upstream } from './helpers.js';

let upstream: Upstream;
let edge: RunningWeir | undefined;
let edgeDir: { dir: string; cleanup(): void };
const warnings: Error[] = [];
const onWarning = (w: Error): void => void warnings.push(w);

beforeEach(async () => {
  ({ upstream, edgeDir } = await setUpMirrorTest());
  warnings.length = 0;
  process.on('warning', onWarning);
});

afterEach(async () => {
  process.off('warning', onWarning);
  await tearDownMirrorTest(edge, { upstream, edgeDir });
  edge = undefined;
});

const LOST = 'mirror lost the upstream; records stay in the log until it is back';
const BACK = 'mirror is back in touch with the upstream; draining the backlog';

async function append(weir: RunningWeir, topic: string, partitions: number, n: number, from = 0): Promise<void> {
  for (let p = 0; p < partitions; p++) {
    await weir.store.appendRecords(topic, p, Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`v${from + i}`), timestamp: Date.now(), headers: [] })));
  }
}

it('logs the loss with its current reason, then the return with how long it lasted and the backlog', async () => {
  // The first connects fail (refused): the last error is an old connect failure once it connects.
  upstream.proxy.refuse = true;
  const { logger, lines } = capturingLogger();
  edge = await startEdge(edgeDir.dir, mirrorEnv(upstream.proxy.port), logger);
  await edge.store.createTopic('sensors.log', { partitions: 2 });
  await append(edge, 'sensors.log', 2, 100);
  await waitForStatus(() => mirrorStatusOf(edge!), (s) => s.rules[0]!.lastError !== null && s.rules[0]!.lastError.message.startsWith('cannot connect'));
  upstream.proxy.refuse = false;
  await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(2));
  // A few statistics rounds while connected: a connected mirror logs no loss.
  await new Promise((r) => setTimeout(r, 2500));
  expect(lines.filter((l) => l.msg === LOST)).toEqual([]);

  // Outage: the upstream dies, the link refuses; records pile up.
  await upstream.stop('SIGKILL');
  upstream.proxy.cutAll();
  upstream.proxy.refuse = true;
  await append(edge, 'sensors.log', 2, 500, 100);
  await waitForStatus(() => mirrorStatusOf(edge!), (s) => !s.rules[0]!.connected);
  await new Promise((r) => setTimeout(r, 2500));
  upstream.proxy.refuse = false;
  await upstream.start();
  await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(2), 60_000);

  const told = lines.filter((l) => l.msg === LOST || l.msg === BACK);
  expect(told.map((l) => l.msg)).toEqual([LOST, BACK]);
  const [lost, back] = told as [Record<string, unknown>, Record<string, unknown>];
  // The reason is this outage's, not the connect failure from before the mirror first connected.
  expect(typeof lost.reason).toBe('string');
  expect(lost.reason).not.toMatch(/^cannot connect/);
  expect(back.lostForMs).toBeGreaterThanOrEqual(2000);
  expect(back.backlogRecords).toBeGreaterThan(0);
  expect(back.backlogRecords).toBeLessThanOrEqual(1000);
}, 90_000);

it('emits no MaxListenersExceededWarning with many mirrored partitions and failed connects', async () => {
  upstream.proxy.refuse = true;
  edge = await startEdge(edgeDir.dir, mirrorEnv(upstream.proxy.port, { partitioning: 'key' }, { WEIR_MIRROR__BACKOFF_MIN_MS: '10', WEIR_MIRROR__BACKOFF_MAX_MS: '50' }));
  await edge.store.createTopic('sensors.many', { partitions: 16 });
  await append(edge, 'sensors.many', 16, 5);
  // Many connect attempts fail, each racing the stop signal.
  await new Promise((r) => setTimeout(r, 4000));
  upstream.proxy.refuse = false;
  await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(16));
  // Every pump now waits for data on the rule's stop signal.
  await new Promise((r) => setTimeout(r, 1500));
  await edge.shutdown('test end');
  edge = undefined;
  expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual([]);
}, 60_000);
