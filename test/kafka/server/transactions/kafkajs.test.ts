/**
 * kafkajs's transactional producer (InitProducerId v1, AddPartitionsToTxn, AddOffsetsToTxn,
 * TxnOffsetCommit and EndTxn at the versions kafkajs negotiates) against the listener: a
 * committed transaction with offsets and an aborted one, read back by a librdkafka
 * read_committed consumer.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignedConsumer, consumeBatch, consumeCount, disconnected, loadCkjs } from '../ckjs.js';
import { startTestBroker, type TestBroker } from '../helpers.js';

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({ transactions: {} });
  await broker.store.createTopic('kjs-out', { partitions: 1 });
  await broker.store.createTopic('kjs-in', { partitions: 1 });
});
afterAll(async () => {
  await broker?.close();
});

describe('kafkajs transactional producer', () => {
  it('commits with offsets and aborts; read_committed sees the commit only', async () => {
    const kafka = new Kafka({ clientId: 'kjs-txn', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    const producer = kafka.producer({ transactionalId: 'kjs', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const committed = await producer.transaction();
      await committed.send({ topic: 'kjs-out', messages: [{ value: 'c0' }, { value: 'c1' }] });
      await committed.sendOffsets({ consumerGroupId: 'kjs-group', topics: [{ topic: 'kjs-in', partitions: [{ partition: 0, offset: '5' }] }] });
      expect(broker.store.fetchGroupOffsets('kjs-group')).toEqual([]);
      await committed.commit();
      expect(broker.store.fetchGroupOffsets('kjs-group')).toMatchObject([{ topic: 'kjs-in', partition: 0, offset: 5 }]);

      const aborted = await producer.transaction();
      await aborted.send({ topic: 'kjs-out', messages: [{ value: 'a0' }] });
      await aborted.abort();
    } finally {
      await producer.disconnect();
    }
    const ckjs = loadCkjs();
    const consumer = await assignedConsumer(ckjs, broker.bootstrap, 'kjs-out', [0], { 'isolation.level': 'read_committed' });
    try {
      const got = [...(await consumeCount(consumer, 2)), ...(await consumeBatch(consumer, 10))];
      expect(got.map((m) => m.value.toString())).toEqual(['c0', 'c1']);
    } finally {
      await disconnected(consumer);
    }
  });
});
