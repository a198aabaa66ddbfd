/**
 * WireProducer against partition leaders that move: a real upstream Weir made to look like two
 * brokers by the leader proxy (test/helpers/kafka-leader-proxy.ts), whose partitions change
 * leader every 300 ms while the producer streams. A batch that reaches the old leader is answered
 * NOT_LEADER_OR_FOLLOWER (6) unwritten; the producer refreshes its metadata and sends the same
 * batch, same sequence, to the new leader, never with batches of that partition in flight to two
 * brokers at once (KIP-98: the broker checks each batch's sequence against the last it wrote, so
 * a batch overtaking an earlier one is refused, and one sent twice is answered as a duplicate).
 */
import { afterEach, expect, it } from 'vitest';
import { assertBuilt } from '../../../cli/helpers.js';
import { startLeaderProxy, type LeaderProxy } from '../../../helpers/kafka-leader-proxy.js';
import { startUpstream, type Upstream } from '../helpers.js';
import { acked, checkUpstream, failed, ProducerRig } from './producer-rig.js';

const TOPIC = 'leaders';
const PARTITIONS = [0, 1, 2];
const PER_PARTITION = 20_000;
const TOTAL = PARTITIONS.length * PER_PARTITION;
const MOVE_EVERY_MS = 300;
const SLOW_NODE_DELAY_MS = 40;

let upstream: Upstream | undefined;
let proxy: LeaderProxy | undefined;
let rig: ProducerRig | undefined;

afterEach(async () => {
  rig?.close();
  rig = undefined;
  await proxy?.close();
  proxy = undefined;
  await upstream?.cleanup();
  upstream = undefined;
});

/**
 * Move `n` (1-based): odd moves swap every partition's leader, even ones move one partition. A
 * swap sends some partitions each way at once, so a partition leaving the slow node can learn its
 * new leader from another's refusal, answered fast, while its own batches are still on their way.
 */
function moveLeaders(p: LeaderProxy, n: number): void {
  const moving = n % 2 === 1 ? PARTITIONS : [PARTITIONS[(n / 2) % PARTITIONS.length]!];
  for (const partition of moving) p.setLeader(TOPIC, partition, 1 - p.leader(TOPIC, partition));
}

it('leaders moved between two brokers every 300 ms: every record acknowledged once, upstream once and in order, no session lost', async () => {
  assertBuilt();
  upstream = await startUpstream();
  const up = upstream;
  // The leader proxy talks to the upstream Weir's own port, not through its fault proxy.
  proxy = await startLeaderProxy(() => up.proxy.target);
  const lp = proxy;
  // Node 0 is the slow one: when a partition moves from it to node 1, batches still on their way
  // to node 0 would reach the broker after any batch a careless producer sent to node 1 at once.
  // Node 1 leads partition 0 at first, so the producer's first broker connection, the one its
  // metadata requests take, is the fast one: a refresh answered over node 0 would come after
  // node 0 had answered every batch sent before it, and the careless producer would go unseen.
  lp.delayMs[0] = SLOW_NODE_DELAY_MS;
  PARTITIONS.forEach((partition) => lp.setLeader(TOPIC, partition, 1 - (partition % 2)));
  rig = new ProducerRig({ port: lp.ports[0] });
  const r = rig;

  let moves = 0;
  const mover = setInterval(() => moveLeaders(lp, ++moves), MOVE_EVERY_MS);
  try {
    // Paced to last about 8 s: some 25 moves, most with batches in flight.
    await r.stream(TOPIC, PARTITIONS, PER_PARTITION, { perSecond: 7_500 });
    await r.settled(30_000);
  } finally {
    clearInterval(mover);
  }

  const check = checkUpstream(await up.records(TOPIC), r);
  const sessionLost = r.problems.filter((p) => p.includes('lost the producer session'));
  const figures = {
    moves,
    acknowledged: r.count(acked),
    failed: r.count(failed),
    ...check,
    accepted: lp.accepted,
    produceForwarded: lp.produceForwarded,
    produceRefused: lp.produceRefused,
    metadataRewritten: lp.metadataRewritten,
    resent: r.problems.filter((p) => p.includes('sending it again')).length,
    sessionLost: sessionLost.length,
    overlaps: lp.overlaps.length,
  };
  console.log(`leader moves: ${JSON.stringify(figures)}; first problems: ${[...new Set(r.problems)].slice(0, 3).join(' | ')}; sessions lost: ${sessionLost.join(' | ')}`);

  expect(lp.errors).toEqual([]);
  // A partition never had batches in flight to both brokers at once.
  expect(lp.overlaps).toEqual([]);
  expect(moves).toBeGreaterThanOrEqual(10);
  // The moves caught the producer sending to the old leader, and it found the new one each time.
  expect(Math.min(...lp.produceRefused)).toBeGreaterThanOrEqual(1);
  expect(Math.min(...lp.produceForwarded)).toBeGreaterThanOrEqual(1);
  expect(Math.min(...lp.accepted)).toBeGreaterThanOrEqual(1);
  expect(figures.resent).toBeGreaterThanOrEqual(1);
  // Each record reported once, acknowledged, upstream once and in order.
  expect(r.reportedTwice).toBe(0);
  expect(sessionLost).toEqual([]);
  expect(r.errors).toEqual([]);
  expect(check.foreign).toBe(0);
  expect(check.missing).toBe(0);
  expect(check.reordered).toBe(0);
  expect(check.duplicates).toBe(0);
  expect(check.distinct).toBe(TOTAL);
  expect(figures.acknowledged).toBe(TOTAL);
}, 90_000);
