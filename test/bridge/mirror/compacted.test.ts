/**
 * Mirroring a compacted topic end to end: an edge Weir (in this process, with its Kafka listener
 * on) takes many values per key from kafkajs (an idempotent producer, as a gateway application
 * would use) into a `cleanup.policy=compact` topic with small segments while the upstream is
 * unreachable (the fault proxy refuses connections); the log cleaner compacts it; the upstream
 * comes back, and records keep arriving. One record of the backlog is over the upstream topic's
 * max.message.bytes: the upstream refuses its whole batch, so the mirror resends from its cursor
 * one record at a time, reading one stored batch at a time across the compacted stretch, and
 * dead-letters that record (on_refused: skip). The upstream must then hold, per partition and in
 * the edge's offset order, every other record the edge's log still holds (so at least the latest
 * record of every key, tombstones included), each at its origin offset, and the mirror's cursor
 * must reach the log end although the log has gaps.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { decodeRecordBatch } from '../../../src/kafka/protocol/record-batch.js';
import type { RunningWeir } from '../../../src/main.js';
import { caughtUp, mirrorEnv, mirrorStatusOf, originOf, setUpMirrorTest, startEdge, tearDownMirrorTest, waitForStatus, type MirrorTestSetUp, type UpRecord } from './helpers.js';

const TOPIC = 'sensors.state';
const PARTITIONS = 2;
const KEYS_PER_PARTITION = 20;
const BATCHES_PER_PARTITION = 40;
const PER_BATCH = 25;
/** Random, so that lz4 cannot bring it under the upstream's limit. */
const BIG_VALUE = randomBytes(30_000).toString('base64');
const BIG = { batch: 30, key: 'dev-0-big' };

let setUp: MirrorTestSetUp;
let edge: RunningWeir | undefined;
let client: { admin: Admin; producer: Producer } | undefined;

beforeEach(async () => {
  setUp = await setUpMirrorTest({ WEIR_TOPIC_DEFAULTS__MAX_MESSAGE_BYTES: '20000' });
});

afterEach(async () => {
  await client?.producer.disconnect();
  await client?.admin.disconnect();
  client = undefined;
  await tearDownMirrorTest(edge, setUp);
  edge = undefined;
});

/** A record of the edge's log, as the mirror must deliver it. */
interface Kept {
  offset: number;
  key: string;
  value: string | null;
}

/** Everything partition `p` of the edge's log holds now, in offset order. */
function edgeLog(weir: RunningWeir, p: number): Kept[] {
  const out: Kept[] = [];
  const { highWatermark } = weir.store.offsets(TOPIC, p);
  for (let at = 0; at < highWatermark; ) {
    const read = weir.store.read(TOPIC, p, at, 1 << 20);
    if (read.batches.length === 0) break;
    for (const batch of read.batches) {
      const { header, records } = decodeRecordBatch(batch);
      for (const r of records) if (r.offset >= at) out.push({ offset: r.offset, key: r.key!.toString(), value: r.value?.toString() ?? null });
      at = header.baseOffset + header.lastOffsetDelta + 1;
    }
  }
  return out;
}

/**
 * Produces `batches` batches of `PER_BATCH` values over the partition's keys, every 11th a
 * tombstone, and in partition 0 one record too big for the upstream; returns them with the offsets
 * the edge acknowledged them at.
 */
async function produceHistory(producer: Producer, p: number, batches: number, tag: string): Promise<Kept[]> {
  const out: Kept[] = [];
  for (let b = 0; b < batches; b++) {
    const messages = Array.from({ length: PER_BATCH }, (_, i) => {
      const seq = b * PER_BATCH + i;
      const key = `dev-${p}-${(seq * 7) % KEYS_PER_PARTITION}`;
      return { partition: p, key, value: seq % 11 === 5 ? null : `{"seq":${seq},"tag":"${tag}"}` };
    });
    if (p === 0 && b === BIG.batch && tag === 'backlog') messages[10] = { partition: p, key: BIG.key, value: BIG_VALUE };
    const [meta] = await producer.send({ topic: TOPIC, acks: -1, messages });
    const base = Number(meta!.baseOffset);
    out.push(...messages.map((m, i) => ({ offset: base + i, key: m.key, value: m.value })));
  }
  return out;
}

/** The latest record of each key, in offset order. */
function latestPerKey(log: readonly Kept[]): Kept[] {
  const latest = new Map<string, Kept>();
  for (const r of log) latest.set(r.key, r);
  return [...latest.values()].sort((a, b) => a.offset - b.offset);
}

/** What arrived from origin partition `p`, duplicates dropped by the README's recipe (a record arriving out of order is dropped too, so it shows as missing). */
function arrivedFrom(records: UpRecord[], p: number): Kept[] {
  let highest = -1;
  const out: Kept[] = [];
  for (const r of records) {
    const origin = originOf(r);
    if (origin.partition !== p) continue;
    expect(r.partition).toBe(p); // partitioning: same
    const offset = origin.offset;
    if (offset <= highest) continue;
    highest = offset;
    out.push({ offset, key: r.key!, value: r.value });
  }
  return out;
}

it('sends what compaction left of a backlog (at least the latest value of every key, in offset order) and reaches the log end across its gaps', async () => {
  const { upstream } = setUp;
  upstream.proxy.refuse = true;
  edge = await startEdge(
    setUp.edgeDir.dir,
    mirrorEnv(upstream.proxy.port, { max_in_flight: 500, on_refused: 'skip', dead_letter_topic: 'mirror.dlq' }, { WEIR_KAFKA__ENABLED: 'true', WEIR_KAFKA__LISTEN: '127.0.0.1:0', WEIR_STORE__COMPACTION_CHECK_INTERVAL_MS: '0' }),
  );
  const kafka = new Kafka({ clientId: 'gateway-app', brokers: [`127.0.0.1:${edge.kafkaAddress!.port}`], logLevel: logLevel.NOTHING });
  client = { admin: kafka.admin(), producer: kafka.producer({ idempotent: true, maxInFlightRequests: 1 }) };
  await client.admin.connect();
  await client.producer.connect();
  const configEntries = [
    { name: 'cleanup.policy', value: 'compact' },
    { name: 'segment.bytes', value: '2048' },
  ];
  await client.admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, configEntries }], waitForLeaders: true });

  // The backlog, while the upstream is unreachable.
  const backlog: Kept[][] = [];
  for (let p = 0; p < PARTITIONS; p++) backlog.push(await produceHistory(client.producer, p, BATCHES_PER_PARTITION, 'backlog'));
  const before = await mirrorStatusOf(edge);
  expect(before.rules[0]!.connected).toBe(false);
  expect(before.rules[0]!.acked).toBe(0);
  const produced = PARTITIONS * BATCHES_PER_PARTITION * PER_BATCH;
  const report = await edge.store.runCompaction();
  expect(report.partitionsCompacted).toBe(PARTITIONS);
  expect(report.recordsRemoved).toBeGreaterThan(produced / 2);

  for (let p = 0; p < PARTITIONS; p++) {
    expect(edgeLog(edge, p).length).toBeLessThan(backlog[p]!.length / 2); // the log has gaps
  }

  // The upstream is back; live records follow the backlog.
  upstream.proxy.refuse = false;
  const live: Kept[][] = [];
  for (let p = 0; p < PARTITIONS; p++) live.push(await produceHistory(client.producer, p, 2, 'live'));
  const status = await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(PARTITIONS), 30_000);
  for (const s of status.rules[0]!.partitions) expect(s.cursor).toBe(s.logEndOffset);
  expect(status.rules[0]!.refused).toBe(1);
  expect(status.rules[0]!.deadLettered).toBe(1);

  const records = await upstream.records(`edge.edge-1.${TOPIC}`);
  for (let p = 0; p < PARTITIONS; p++) {
    const arrived = arrivedFrom(records, p);
    // Every record the edge still holds but the big one, in its offset order at its origin
    // offset: nothing acknowledged and not compacted away is lost (the mirror sent nothing
    // before compaction).
    const log = edgeLog(edge, p);
    expect(arrived).toEqual(log.filter((r) => r.key !== BIG.key));
    expect(log.filter((r) => r.key === BIG.key)).toHaveLength(p === 0 ? 1 : 0);
    // Of the backlog, at least the latest value of every key (a tombstone as the null value).
    const latest = latestPerKey(backlog[p]!).filter((r) => r.key !== BIG.key);
    expect(latest).toHaveLength(KEYS_PER_PARTITION);
    expect(arrived).toEqual(expect.arrayContaining(latest));
    expect(arrived.length).toBeLessThan(backlog[p]!.length / 2 + live[p]!.length);
    // And every live record, after the backlog.
    expect(arrived.slice(-live[p]!.length)).toEqual(live[p]);
  }
}, 60_000);
