/**
 * WireProducer against faults, directly (not through the mirror): a real upstream Weir process
 * behind the fault proxy, the producer in this process. Every record names itself ("p:seq"), so
 * what arrived upstream is checked against what the producer reported: each record reported
 * exactly once, every acknowledged record upstream exactly once and in order per partition
 * (KIP-98: a batch sent again after an unknown outcome is answered as the duplicate it is).
 */
import { afterEach, expect, it } from 'vitest';
import { assertBuilt } from '../../../cli/helpers.js';
import { startUpstream, type Upstream } from '../helpers.js';
import { acked, checkUpstream, failed, incompressible, ProducerRig, type RigOptions } from './producer-rig.js';

const TOPIC = 'faults';
const PARTITIONS = [0, 1, 2];
const PER_PARTITION = 20_000;
const TOTAL = PARTITIONS.length * PER_PARTITION;

let upstream: Upstream | undefined;
let rig: ProducerRig | undefined;

afterEach(async () => {
  rig?.close();
  rig = undefined;
  await upstream?.cleanup();
  upstream = undefined;
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function setUp(env: Record<string, string> = {}, options: Omit<RigOptions, 'port'> = {}): Promise<{ upstream: Upstream; rig: ProducerRig }> {
  assertBuilt();
  upstream = await startUpstream(env);
  rig = new ProducerRig({ port: upstream.proxy.port, ...options });
  return { upstream, rig };
}

/** Every record reported once; what arrived upstream, checked; the figures printed for the report. */
async function settleAndCheck(up: Upstream, r: ProducerRig, name: string, settleMs = 30_000) {
  await r.settled(settleMs);
  const check = checkUpstream(await up.records(TOPIC), r);
  const figures = { acknowledged: r.count(acked), failed: r.count(failed), ...check, cuts: up.proxy.cuts, resent: r.problems.filter((p) => p.includes('sending it again')).length, problems: r.problems.length };
  console.log(`${name}: ${JSON.stringify(figures)}; first problems: ${[...new Set(r.problems)].slice(0, 3).join(' | ')}`);
  expect(r.reportedTwice).toBe(0);
  expect(check.foreign).toBe(0);
  expect(check.missing).toBe(0);
  expect(check.reordered).toBe(0);
  return figures;
}

it('steady: 3 partitions × 20,000 lz4 records, each acknowledged and upstream once, in order', async () => {
  const { upstream: up, rig: r } = await setUp();
  await r.stream(TOPIC, PARTITIONS, PER_PARTITION);
  const f = await settleAndCheck(up, r, 'steady');
  expect(f.acknowledged).toBe(TOTAL);
  expect(f.duplicates).toBe(0);
  expect(f.distinct).toBe(TOTAL);
  expect(r.errors).toEqual([]);
}, 60_000);

it('connections cut every 200 ms: acknowledged records upstream once and in order, the batches sent again answered as duplicates', async () => {
  const { upstream: up, rig: r } = await setUp();
  // Every 200 ms a cut: of every connection at once, or (every other time) in the middle of the
  // next response, when the broker has done the request and only its answer is lost.
  let ticks = 0;
  const cutter = setInterval(() => (ticks++ % 2 === 0 ? up.proxy.cutAll() : (up.proxy.cutAfterResponseBytes = 12)), 200);
  try {
    // Paced to last about 8 s: some 40 cuts, many with batches in flight.
    await r.stream(TOPIC, PARTITIONS, PER_PARTITION, { perSecond: 7_500 });
    await r.settled(30_000);
  } finally {
    clearInterval(cutter);
    up.proxy.cutAfterResponseBytes = -1;
  }
  const f = await settleAndCheck(up, r, 'cuts');
  expect(up.proxy.cuts).toBeGreaterThanOrEqual(20);
  // The cuts hit requests in flight: batches were sent again.
  expect(f.resent).toBeGreaterThanOrEqual(5);
  expect(f.duplicates).toBe(0);
  // Nothing refused and no session lost: a cut alone fails no record.
  expect(f.failed).toBe(0);
  expect(f.acknowledged).toBe(TOTAL);
}, 90_000);

it('upstream SIGKILLed and restarted twice mid-stream: every acknowledged record upstream, in order, none twice', async () => {
  const { upstream: up, rig: r } = await setUp();
  let restarting: Promise<void> | undefined;
  let kills = 0;
  const killAt = [PER_PARTITION / 3, (2 * PER_PARTITION) / 3];
  const restart = async (): Promise<void> => {
    await up.stop('SIGKILL');
    await sleep(300);
    await up.start();
  };
  const killWhenDue = (): void => {
    if (restarting === undefined && kills < killAt.length && r.appended(0) >= killAt[kills]!) {
      kills++;
      restarting = restart().finally(() => (restarting = undefined));
    }
  };
  await r.stream(TOPIC, PARTITIONS, PER_PARTITION, { during: killWhenDue });
  await restarting;
  const f = await settleAndCheck(up, r, 'sigkill');
  expect(kills).toBe(2);
  // The kills took requests in flight with them.
  expect(f.resent).toBeGreaterThanOrEqual(1);
  // The upstream keeps each producer's last sequences across a restart (its snapshot and log), so
  // a batch written just before the kill and sent again after it is a duplicate, not a new write.
  expect(f.duplicates).toBe(0);
  // The restarted upstream still knows the producer id and its sequences: no record fails.
  expect(f.failed).toBe(0);
  expect(f.acknowledged).toBe(TOTAL);
}, 90_000);

it('a blackholed link longer than the request timeout: requests time out, connections go, the batches are sent again once', async () => {
  const { upstream: up, rig: r } = await setUp({}, { requestTimeoutMs: 2_000, connectTimeoutMs: 2_000 });
  let holes = 0;
  const holeWhenDue = (): void => {
    if (holes === 0 && r.appended(0) >= PER_PARTITION / 3) {
      holes++;
      up.proxy.blackhole = true;
      setTimeout(() => (up.proxy.blackhole = false), 3_500);
    }
  };
  await r.stream(TOPIC, PARTITIONS, PER_PARTITION, { during: holeWhenDue });
  const f = await settleAndCheck(up, r, 'blackhole');
  expect(r.problems.some((p) => p.includes('request timed out'))).toBe(true);
  expect(f.duplicates).toBe(0);
  expect(f.failed).toBe(0);
  expect(f.acknowledged).toBe(TOTAL);
}, 90_000);

it('a record over max.message.bytes: its batch refused (10), the rest of its partition failed, later records go through in the same session', async () => {
  // Batches of at most 16,000 encoded bytes stay under the upstream's 20,000; the big record
  // (random bytes: lz4 cannot shrink it) is alone in a batch over it.
  const { upstream: up, rig: r } = await setUp({ WEIR_TOPIC_DEFAULTS__MAX_MESSAGE_BYTES: '20000' }, { batchBytes: 16_000 });
  await r.stream(TOPIC, PARTITIONS, 3_000);
  const big = r.appended(1);
  r.append(TOPIC, 1, big, incompressible(30_000));
  await r.stream(TOPIC, PARTITIONS, 3_000);
  await r.settled(30_000);
  // Appended after every failure report came: sent with the rewound sequence.
  const afterFailures = r.appended(1);
  await r.stream(TOPIC, PARTITIONS, 3_000);
  const f = await settleAndCheck(up, r, 'refusal');

  const outcome = r.outcomes.get(1)!;
  expect(outcome[big]).toBe(10);
  // After the refused record, its partition's unsent batches fail at once: at least the 200
  // records appended right after it, before anything was sent. Batches already in flight are
  // refused by Kafka (45: a gap in the sequence) but may be written by a Weir upstream, which
  // admits a batch's sequence before writing it and so takes the next ones before the refusal
  // comes: acknowledged, then. Either way the failures are one run, and nothing after it fails.
  const failedAfter = r.seqs(1, failed).filter((s) => s > big);
  expect(failedAfter.length).toBeGreaterThanOrEqual(200);
  expect(failedAfter).toEqual(failedAfter.map((_, i) => failedAfter[0]! + i));
  for (const seq of failedAfter) expect([-1, 45]).toContain(outcome[seq]);
  expect(r.seqs(1, acked)).toHaveLength(outcome.length - 1 - failedAfter.length);
  expect(r.seqs(1, acked).filter((s) => s >= afterFailures)).toHaveLength(3_000);
  for (const p of [0, 2]) expect(r.seqs(p, acked)).toHaveLength(9_000);
  // The sequence went back to where the broker expects it: no OUT_OF_ORDER_SEQUENCE_NUMBER, no new session.
  expect(r.problems.filter((p) => p.includes('lost the producer session'))).toEqual([]);
  expect(f.duplicates).toBe(0);
  expect(f.failedButPresent).toBe(0);
  console.log(`refusal: big record seq ${big}; after it ${failedAfter[0]! - big - 1} acknowledged (in flight), then ${failedAfter.length} failed (codes ${[...new Set(failedAfter.map((s) => outcome[s]))].join(', ')})`);
}, 90_000);
