/**
 * A consumer group whose committed offset falls in a range compaction removed resumes at the next
 * record present, as in Kafka: a librdkafka member reads part of a compacted topic and commits,
 * the log cleaner then removes the committed offset and the records around it, and a member
 * started again in the group reads on from the first record after the commit, nothing before it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connected, disconnected, loadCkjs, type CkjsModule } from '../server/ckjs.js';
import { startBrokerWithKafkajs } from '../server/helpers.js';
import { until } from '../../helpers/until.js';
import { consumeThrough, createCompactedTopic, latestPerKey, produceBatch, type Seen } from './helpers.js';

const TOPIC = 'meter-state';
const GROUP = 'dashboard';
const ROUNDS = 8;
const KEYS = 12;

let ckjs: CkjsModule;
let started: Awaited<ReturnType<typeof startBrokerWithKafkajs>>;

beforeAll(async () => {
  ckjs = loadCkjs();
  started = await startBrokerWithKafkajs({ groups: { initialRebalanceDelayMs: 100 } }, 'compaction-group', 2);
});

afterAll(() => started?.close());

/** A member of GROUP subscribed to TOPIC, committing only when told, reading from the earliest offset when it has none. */
async function member() {
  const consumer = new ckjs.KafkaConsumer(
    { 'bootstrap.servers': started.broker.bootstrap, 'group.id': GROUP, 'enable.auto.commit': false, 'fetch.wait.max.ms': 100, 'session.timeout.ms': 10_000, 'heartbeat.interval.ms': 300 },
    { 'auto.offset.reset': 'earliest' },
  );
  await connected(consumer);
  consumer.setDefaultConsumeTimeout(100);
  consumer.subscribe([TOPIC]);
  return consumer;
}

const committed = (): number | undefined => started.broker.store.fetchGroupOffsets(GROUP).find((o) => o.topic === TOPIC && o.partition === 0)?.offset;

describe('a committed offset in a compacted-away range', () => {
  it('the group resumes at the next record present', async () => {
    await createCompactedTopic(started.admin, TOPIC, { 'segment.bytes': '512' });
    // Key k is written in rounds 0..k % ROUNDS, so the latest values are spread over the log.
    const produced: Seen[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const keys = Array.from({ length: KEYS }, (_, k) => k).filter((k) => k % ROUNDS >= round);
      produced.push(...(await produceBatch(started.producer, TOPIC, keys.map((k) => ({ key: `meter-${k}`, value: `kWh ${round * 100 + k}` })))));
    }
    const tailBase = produced.length;
    produced.push(...(await produceBatch(started.producer, TOPIC, [{ key: 'meter-last', value: 'y'.repeat(600) }])));
    const last = produced.length - 1;
    const compacted = latestPerKey(produced, tailBase);
    const present = new Set(compacted.map((r) => r.offset));
    // The commit: an offset that compaction removes, with removed offsets before and after it.
    const commitAt = produced.find((r) => r.offset > 10 && !present.has(r.offset) && !present.has(r.offset - 1) && !present.has(r.offset + 1))!.offset;
    const resumeAt = compacted.find((r) => r.offset > commitAt)!.offset;

    const first = await member();
    try {
      const seen = await consumeThrough(first, commitAt - 1);
      expect(seen.map((r) => r.offset)).toEqual(produced.slice(0, seen.length).map((r) => r.offset));
      // commit, not commitSync: a synchronous call would block the event loop the broker runs on.
      first.commit({ topic: TOPIC, partition: 0, offset: commitAt });
      await until('the commit to be stored', () => committed() === commitAt);
    } finally {
      await disconnected(first);
    }

    const report = await started.broker.store.runCompaction();
    expect(report.partitionsCompacted).toBe(1);

    const again = await member();
    try {
      const seen = await consumeThrough(again, last);
      expect(seen[0]!.offset).toBe(resumeAt);
      expect(seen).toEqual(compacted.filter((r) => r.offset > commitAt));
      expect(committed()).toBe(commitAt);
    } finally {
      await disconnected(again);
    }
  });
});
