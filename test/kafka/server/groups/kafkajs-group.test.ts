/**
 * kafkajs consumer groups against a real listener on port 0: two members split a 4-partition
 * topic, consume everything once and commit; a restarted member resumes from the committed
 * offsets without re-reading. Admin group listing and describing ride along. kcat's balanced
 * consumer (librdkafka 2.0.2: JoinGroup v5, OffsetFetch v7 flexible) checks the same where
 * kcat is installed (.ci/run installs it).
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { requireKcat } from '../../../helpers/required-tools.js';
import { startBrokerWithKafkajs, type TestBroker } from '../helpers.js';
import { until } from '../../../helpers/until.js';

const run = promisify(execFile);
requireKcat();
const TOPIC = 'group-t';
const GROUP = 'g-split';

let broker: TestBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let started: Awaited<ReturnType<typeof startBrokerWithKafkajs>> | undefined;

beforeAll(async () => {
  // A short initial delay keeps the test quick; it still gathers both members in one generation.
  started = await startBrokerWithKafkajs({ groups: { initialRebalanceDelayMs: 200 } }, 'weir-groups', 3);
  ({ broker, kafka, admin, producer } = started);
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 4 }] });
});

afterAll(() => started?.close());

interface Seen {
  partition: number;
  offset: number;
  value: string;
}

async function startMember(seen: Seen[], assigned: Map<string, number[]>, name: string): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
  consumer.on(consumer.events.GROUP_JOIN, (e) => assigned.set(name, [...(e.payload.memberAssignment[TOPIC] ?? [])].sort()));
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    autoCommitInterval: 100,
    eachMessage: async ({ partition, message }) => {
      seen.push({ partition, offset: Number(message.offset), value: message.value?.toString() ?? '' });
    },
  });
  return consumer;
}

async function produce(from: number, count: number): Promise<void> {
  const messages = Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}` }));
  await producer.send({ topic: TOPIC, acks: -1, messages });
}

async function committedTotal(): Promise<number> {
  const [t] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
  return (t?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

describe('kafkajs consumer group', () => {
  it('two members split 4 partitions, consume once, commit; a restarted member resumes without re-reading', async () => {
    const seen: Seen[] = [];
    const assigned = new Map<string, number[]>();
    const a = await startMember(seen, assigned, 'a');
    const b = await startMember(seen, assigned, 'b');
    await until('both members to hold two partitions each', () => assigned.get('a')?.length === 2 && assigned.get('b')?.length === 2);
    expect([...assigned.get('a')!, ...assigned.get('b')!].sort()).toEqual([0, 1, 2, 3]);

    const listed = await admin.listGroups();
    expect(listed.groups).toContainEqual({ groupId: GROUP, protocolType: 'consumer' });
    const described = await admin.describeGroups([GROUP]);
    expect(described.groups[0]).toMatchObject({ groupId: GROUP, state: 'Stable', protocolType: 'consumer' });
    expect(described.groups[0]!.members).toHaveLength(2);

    await produce(0, 40);
    await until('all 40 records consumed', () => seen.length >= 40);
    await until('offsets of all 40 records committed', async () => (await committedTotal()) === 40);
    const keys = seen.map((s) => `${s.partition}:${s.offset}`);
    expect(new Set(keys).size).toBe(keys.length); // each record once
    expect(new Set(seen.map((s) => s.partition)).size).toBe(4);
    expect(seen.map((s) => s.value).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `v${i}`).sort());

    await a.disconnect();
    await b.disconnect();
    await until('the group to be empty', async () => (await admin.describeGroups([GROUP])).groups[0]?.state === 'Empty');

    await produce(40, 8);
    const again: Seen[] = [];
    const c = await startMember(again, assigned, 'c');
    await until('the restarted member to read the 8 new records', () => again.length >= 8);
    await until('its commit of them', async () => (await committedTotal()) === 48);
    await c.disconnect();
    expect(assigned.get('c')).toEqual([0, 1, 2, 3]);
    expect(again.map((s) => s.value).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `v${40 + i}`).sort());
  });
});

describe('kcat balanced consumer', () => {
  async function kcatGroup(group: string, topic: string): Promise<string[]> {
    const args = ['-b', broker.bootstrap, '-G', group, '-X', 'auto.offset.reset=earliest', '-X', 'api.version.request=true', '-e', '-q', '-f', '%p:%o:%s\\n', topic];
    const { stdout } = await run('kcat', args, { timeout: 30_000 });
    return stdout.split('\n').filter((l) => l !== '');
  }

  it('consumes a 2-partition topic, commits, and a second run reads only what is new', async () => {
    await admin.createTopics({ topics: [{ topic: 'kcat-group', numPartitions: 2 }] });
    await producer.send({ topic: 'kcat-group', acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    const first = await kcatGroup('g-kcat', 'kcat-group');
    expect(first.map((l) => l.split(':')[2]).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`).sort());
    const [t] = await admin.fetchOffsets({ groupId: 'g-kcat', topics: ['kcat-group'] });
    expect((t?.partitions ?? []).reduce((sum, p) => sum + Number(p.offset), 0)).toBe(10);
    await producer.send({ topic: 'kcat-group', acks: -1, messages: [{ key: 'k10', value: 'v10' }] });
    expect((await kcatGroup('g-kcat', 'kcat-group')).map((l) => l.split(':')[2])).toEqual(['v10']);
  });
  it('two kcat members split a 4-partition topic, commit on exit, and a restarted member reads only what is new', async () => {
    await admin.createTopics({ topics: [{ topic: 'kcat-split', numPartitions: 4 }] });
    const members = ['m1', 'm2'].map(() => {
      // -u: unbuffered output; no -q, so kcat reports each rebalance's assignment on stderr.
      const child = spawn('kcat', ['-b', broker.bootstrap, '-G', 'g-kcat-split', '-u', '-X', 'auto.offset.reset=earliest',
        '-X', 'partition.assignment.strategy=range', '-X', 'auto.commit.interval.ms=100', '-f', '%p:%o:%s\\n', 'kcat-split']);
      const m = { child, out: '', err: '', exited: new Promise<void>((resolve) => child.on('exit', () => resolve())) };
      child.stdout.setEncoding('utf8').on('data', (d: string) => (m.out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (m.err += d));
      return m;
    });
    /** Partitions of the member's latest assignment ("% Group ... rebalanced ...: assigned: t [0], t [1]"). */
    const latest = (err: string): number[] => {
      const all = [...err.matchAll(/assigned: ([^\n]*)/g)];
      return all.length === 0 ? [] : [...all.at(-1)![1]!.matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1])).sort();
    };
    const lines = (out: string) => out.split('\n').filter((l) => l !== '');
    try {
      await until('both kcat members to hold two partitions each', () => members.every((m) => latest(m.err).length === 2), 25_000);
      expect(members.flatMap((m) => latest(m.err)).sort()).toEqual([0, 1, 2, 3]);
      await producer.send({ topic: 'kcat-split', acks: -1, messages: Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
      await until('all 40 records consumed', () => members.reduce((n, m) => n + lines(m.out).length, 0) >= 40);
      for (const m of members) {
        const mine = latest(m.err);
        expect(lines(m.out).every((l) => mine.includes(Number(l.split(':')[0])))).toBe(true);
      }
      const all = members.flatMap((m) => lines(m.out).map((l) => l.split(':')[2]));
      expect(all.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `v${i}`).sort());
    } finally {
      // SIGTERM: kcat closes its consumer, which commits the final offsets and leaves the group.
      for (const m of members) m.child.kill('SIGTERM');
      await Promise.all(members.map((m) => m.exited));
    }
    const [t] = await admin.fetchOffsets({ groupId: 'g-kcat-split', topics: ['kcat-split'] });
    expect((t?.partitions ?? []).reduce((sum, p) => sum + Number(p.offset), 0)).toBe(40);
    await producer.send({ topic: 'kcat-split', acks: -1, messages: [{ key: 'k40', value: 'v40' }, { key: 'k41', value: 'v41' }] });
    expect((await kcatGroup('g-kcat-split', 'kcat-split')).map((l) => l.split(':')[2]).sort()).toEqual(['v40', 'v41']);
  });
});
