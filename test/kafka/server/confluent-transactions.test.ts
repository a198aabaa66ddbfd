/**
 * @confluentinc/kafka-javascript (librdkafka 2.15) transactional producers against a real
 * listener serving transactions: a committed transaction (with offsets sent to it) is visible
 * to a read_committed consumer, an aborted one is not (a read_uncommitted consumer sees both),
 * the offsets reach the group only with the commit, a second producer with the same
 * transactional.id fences the first, a group member's consume-transform-produce commits its
 * offsets with the transaction, and a transaction past its timeout is aborted. Fails (never skips) when the client is not built: see ckjs.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignedConsumer, consumeBatch, consumeCount, createTopic, disconnected, DrProducer, loadCkjs, startBrokerWithCkjs, type Ckjs, type CkjsModule } from './ckjs.js';
import type { TestBroker } from './helpers.js';
import { until } from '../../helpers/until.js';

const OUT = 'txn-out';
const IN = 'txn-in';
const GROUP = 'txn-group';

let ckjs: CkjsModule;
let broker: TestBroker;
let started: Awaited<ReturnType<typeof startBrokerWithCkjs>> | undefined;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  ckjs = loadCkjs();
  // A check every 200 ms, so a transaction past its timeout is aborted within the test's wait.
  started = await startBrokerWithCkjs(ckjs, { transactions: { checkIntervalMs: 200 } });
  broker = started.broker;
  await createTopic(started.admin, { topic: OUT, num_partitions: 2, replication_factor: 1 });
  await createTopic(started.admin, { topic: IN, num_partitions: 1, replication_factor: 1 });
  await createTopic(started.admin, { topic: 'ctp-out', num_partitions: 1, replication_factor: 1 });
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await started?.close();
});

/** Promise form of the native producer's transaction calls. */
function call(fn: (cb: (err: Ckjs.LibrdKafkaError | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
}

async function transactionalProducer(transactionalId: string): Promise<DrProducer> {
  const p = await new DrProducer(ckjs, { 'bootstrap.servers': broker.bootstrap, 'transactional.id': transactionalId }).connect();
  cleanups.push(() => p.disconnect());
  await call((cb) => p.producer.initTransactions(10_000, cb));
  return p;
}

const values = (prefix: string, from: number, n: number) => Array.from({ length: n }, (_, i) => ({ value: Buffer.from(`${prefix}${from + i}`), partition: (from + i) % 2 }));

async function readAll(isolation: 'read_committed' | 'read_uncommitted', count: number): Promise<string[]> {
  const consumer = await assignedConsumer(ckjs, broker.bootstrap, OUT, [0, 1], { 'isolation.level': isolation });
  try {
    const got = await consumeCount(consumer, count);
    // Nothing more arrives: what a consumer of this isolation sees is exactly `count` records.
    const more = await consumeBatch(consumer, 100);
    return [...got, ...more].map((m) => m.value.toString()).sort();
  } finally {
    await disconnected(consumer);
  }
}

describe('librdkafka transactional producer', () => {
  it('commit, abort, commit: read_committed sees the committed records only, offsets reach the group on commit', async () => {
    const producer = await transactionalProducer('smoke');
    const groupMember = new ckjs.KafkaConsumer({ 'bootstrap.servers': broker.bootstrap, 'group.id': GROUP, 'enable.auto.commit': false }, {});
    await new Promise<void>((resolve, reject) => groupMember.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
    cleanups.push(() => disconnected(groupMember));

    await call((cb) => producer.producer.beginTransaction(cb));
    await producer.send(OUT, values('c', 0, 5));
    await call((cb) => producer.producer.sendOffsetsToTransaction([{ topic: IN, partition: 0, offset: 7 }], groupMember, 10_000, cb));
    expect(broker.store.fetchGroupOffsets(GROUP)).toEqual([]);
    await call((cb) => producer.producer.commitTransaction(10_000, cb));
    expect(broker.store.fetchGroupOffsets(GROUP)).toMatchObject([{ topic: IN, partition: 0, offset: 7 }]);

    await call((cb) => producer.producer.beginTransaction(cb));
    await producer.send(OUT, values('a', 0, 5));
    await call((cb) => producer.producer.sendOffsetsToTransaction([{ topic: IN, partition: 0, offset: 99 }], groupMember, 10_000, cb));
    await call((cb) => producer.producer.abortTransaction(10_000, cb));
    expect(broker.store.fetchGroupOffsets(GROUP)).toMatchObject([{ topic: IN, partition: 0, offset: 7 }]);

    await call((cb) => producer.producer.beginTransaction(cb));
    await producer.send(OUT, values('c', 5, 1));
    await call((cb) => producer.producer.commitTransaction(10_000, cb));

    expect(await readAll('read_committed', 6)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
    expect(await readAll('read_uncommitted', 11)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
  });

  it('a second producer with the same transactional.id fences the first; its open records are aborted', async () => {
    const zombie = await transactionalProducer('fenced');
    await call((cb) => zombie.producer.beginTransaction(cb));
    await zombie.send(OUT, values('z', 0, 2));

    const fresh = await transactionalProducer('fenced');
    const failure = await call((cb) => zombie.producer.commitTransaction(10_000, cb)).then(() => null, (err: Ckjs.LibrdKafkaError) => err);
    expect(failure).not.toBeNull();
    expect(String(failure?.message)).toMatch(/fenc/i);

    await call((cb) => fresh.producer.beginTransaction(cb));
    await fresh.send(OUT, values('f', 0, 1));
    await call((cb) => fresh.producer.commitTransaction(10_000, cb));
    // The first test's six committed records, and this one: none of the zombie's.
    expect(await readAll('read_committed', 7)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'f0']);
  });

  it('consume-transform-produce: offsets of a subscribed consumer (KIP-447 group metadata) reach its group with the commit', async () => {
    await createTopic(started!.admin, { topic: 'ctp-in', num_partitions: 1, replication_factor: 1 });
    await started!.producer.send('ctp-in', values('in', 0, 3).map((m) => ({ value: m.value, partition: 0 })));
    const consumer = new ckjs.KafkaConsumer(
      { 'bootstrap.servers': broker.bootstrap, 'group.id': 'ctp', 'enable.auto.commit': false, 'isolation.level': 'read_committed', 'fetch.wait.max.ms': 100 },
      { 'auto.offset.reset': 'earliest' },
    );
    await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
    cleanups.push(() => disconnected(consumer));
    consumer.setDefaultConsumeTimeout(100);
    consumer.subscribe(['ctp-in']);
    const consumed = await consumeCount(consumer, 3);

    const producer = await transactionalProducer('ctp');
    await call((cb) => producer.producer.beginTransaction(cb));
    await producer.send('ctp-out', consumed.map((m) => ({ value: Buffer.from(m.value.toString().toUpperCase()) })));
    await call((cb) => producer.producer.sendOffsetsToTransaction([{ topic: 'ctp-in', partition: 0, offset: consumed.at(-1)!.offset + 1 }], consumer, 10_000, cb));
    expect(broker.store.fetchGroupOffsets('ctp')).toEqual([]);
    await call((cb) => producer.producer.commitTransaction(10_000, cb));
    expect(broker.store.fetchGroupOffsets('ctp')).toMatchObject([{ topic: 'ctp-in', partition: 0, offset: 3 }]);
    const out = await assignedConsumer(ckjs, broker.bootstrap, 'ctp-out', [0], { 'isolation.level': 'read_committed' });
    cleanups.push(() => disconnected(out));
    expect((await consumeCount(out, 3)).map((m) => m.value.toString())).toEqual(['IN0', 'IN1', 'IN2']);
  });

  it('a transaction open past transaction.timeout.ms is aborted and its producer fenced, as Kafka does', async () => {
    const late = await new DrProducer(ckjs, { 'bootstrap.servers': broker.bootstrap, 'transactional.id': 'late', 'transaction.timeout.ms': 1_000 }).connect();
    cleanups.push(() => late.disconnect());
    await call((cb) => late.producer.initTransactions(10_000, cb));
    await call((cb) => late.producer.beginTransaction(cb));
    await late.send(OUT, values('t', 0, 1));
    await until('the timed-out transaction aborted', () => broker.transactions!.describe('late')?.state === 'CompleteAbort', 10_000);
    const failure = await call((cb) => late.producer.commitTransaction(10_000, cb)).then(() => null, (err: Ckjs.LibrdKafkaError) => err);
    expect(String(failure?.message)).toMatch(/fenc/i);
    expect(await readAll('read_committed', 7)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'f0']);
  });
});
