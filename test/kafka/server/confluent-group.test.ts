/**
 * @confluentinc/kafka-javascript (librdkafka 2.15.1) consumer groups against a real listener on
 * port 0 with the group coordinator: two KafkaConsumers split a 4-partition topic, each record
 * is consumed once and committed; after both leave, a restarted member resumes from the
 * committed offsets and reads only what is new. Fails (never skips) when the client is not
 * built: see ckjs.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../../src/kafka/protocol/murmur2.js';
import { connected, consumeBatch, createTopic, DrProducer, disconnected, loadCkjs, startBrokerWithCkjs, type Ckjs, type CkjsModule, type Consumed } from './ckjs.js';
import type { TestBroker } from './helpers.js';
import { until } from '../../helpers/until.js';

const TOPIC = 'ck-group';
const GROUP = 'ck-g';
const ERR_ASSIGN = -175;

let ckjs: CkjsModule;
let broker: TestBroker;
let admin: Ckjs.IAdminClient;
let producer: DrProducer;
let started: Awaited<ReturnType<typeof startBrokerWithCkjs>> | undefined;

beforeAll(async () => {
  ckjs = loadCkjs();
  started = await startBrokerWithCkjs(ckjs, { groups: { initialRebalanceDelayMs: 200 } });
  ({ broker, admin, producer } = started);
  await createTopic(admin, { topic: TOPIC, num_partitions: 4, replication_factor: 1 });
});

afterAll(() => started?.close());

interface Member {
  assigned: number[];
  seen: Consumed[];
  stop(): Promise<void>;
}

/** A group member that consumes in a loop and auto-commits every 100 ms (and on close). */
async function startMember(): Promise<Member> {
  const member: Member = { assigned: [], seen: [], stop: async () => undefined };
  const consumer = new ckjs.KafkaConsumer(
    {
      'bootstrap.servers': broker.bootstrap,
      'group.id': GROUP,
      'partition.assignment.strategy': 'range',
      'session.timeout.ms': 10_000,
      'heartbeat.interval.ms': 300,
      'fetch.wait.max.ms': 100,
      'auto.commit.interval.ms': 100,
      rebalance_cb: true,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  consumer.on('rebalance', (err, assignment) => {
    member.assigned = err.code === ERR_ASSIGN ? assignment.map((a) => a.partition).sort() : [];
  });
  await connected(consumer);
  consumer.setDefaultConsumeTimeout(100);
  consumer.subscribe([TOPIC]);
  let running = true;
  const loop = (async () => {
    while (running) member.seen.push(...(await consumeBatch(consumer, 100)));
  })();
  member.stop = async () => {
    running = false;
    await loop;
    await disconnected(consumer);
  };
  return member;
}

async function produce(from: number, count: number): Promise<void> {
  await producer.send(TOPIC, Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: Buffer.from(`v${from + i}`) })));
}

function committedTotal(): number {
  return broker.store.fetchGroupOffsets(GROUP).filter((o) => o.topic === TOPIC).reduce((sum, o) => sum + o.offset, 0);
}

describe('@confluentinc/kafka-javascript consumer group', () => {
  it('two members split 4 partitions, consume once, commit; a restarted member resumes without re-reading', async () => {
    const a = await startMember();
    const b = await startMember();
    try {
      await until('both members to hold two partitions each', () => a.assigned.length === 2 && b.assigned.length === 2);
      expect([...a.assigned, ...b.assigned].sort()).toEqual([0, 1, 2, 3]);

      await produce(0, 40);
      await until('all 40 records consumed', () => a.seen.length + b.seen.length >= 40);
      await until('offsets of all 40 records committed', () => committedTotal() === 40);
      for (const m of [a, b]) {
        // Each member read only its own partitions, and each record where its key hashes.
        expect(m.seen.every((s) => m.assigned.includes(s.partition) && s.partition === partitionForKey(Buffer.from(s.key!), 4))).toBe(true);
      }
      const all = [...a.seen, ...b.seen];
      expect(new Set(all.map((s) => `${s.partition}:${s.offset}`)).size).toBe(40);
      expect(all.map((s) => s.value.toString()).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `v${i}`).sort());
    } finally {
      await a.stop();
      await b.stop();
    }

    await produce(40, 8);
    const c = await startMember();
    try {
      await until('the restarted member to read the 8 new records', () => c.seen.length >= 8);
      await until('its commit of them', () => committedTotal() === 48);
      // A moment more: anything re-read from before the commit would have arrived by now.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(c.assigned).toEqual([0, 1, 2, 3]);
      expect(c.seen.map((s) => s.value.toString()).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `v${40 + i}`).sort());
    } finally {
      await c.stop();
    }
  });
});
