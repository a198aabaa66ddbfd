/**
 * @confluentinc/kafka-javascript (librdkafka 2.15, the mirror's client) for the listener's
 * client tests: loaded with createRequire (it is CommonJS and an optional dependency), with
 * promise wrappers over its callback API. When it cannot load, `loadCkjs()` throws a message
 * that says how to build it: these tests fail rather than skip.
 */
import { createRequire } from 'node:module';
import type * as Ckjs from '@confluentinc/kafka-javascript';
import { startTestBroker, type TestBroker } from './helpers.js';

export type CkjsModule = typeof Ckjs;
export type { Ckjs };

export function loadCkjs(): CkjsModule {
  try {
    return createRequire(import.meta.url)('@confluentinc/kafka-javascript') as CkjsModule;
  } catch (err) {
    throw new Error(
      '@confluentinc/kafka-javascript (librdkafka) did not load, so its client tests cannot run. Build it with ' +
        '`sudo apt-get install -y build-essential pkg-config libssl-dev zlib1g-dev libzstd-dev` then `CKJS_LINKING=dynamic npm ci`. ' +
        `Cause: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    );
  }
}

/** Connects a native client; resolves once it is ready. */
export function connected<T extends Ckjs.Producer | Ckjs.KafkaConsumer>(client: T): Promise<T> {
  return new Promise((resolve, reject) => {
    client.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve(client)));
  });
}

export function disconnected(client: Ckjs.Producer | Ckjs.KafkaConsumer): Promise<void> {
  return new Promise((resolve) => {
    if (!client.isConnected()) resolve();
    else client.disconnect(() => resolve());
  });
}

export interface Delivered {
  partition: number;
  offset: number;
  key: string | null;
  value: string;
}

export interface OutMessage {
  value: Buffer;
  key?: string | null;
  partition?: number;
  timestamp?: number;
  headers?: Ckjs.MessageHeader[];
}

/**
 * A native Producer with delivery reports (dr_cb): `send` produces and resolves with every
 * report once all are in; a failed delivery rejects.
 */
export class DrProducer {
  readonly producer: Ckjs.Producer;

  /** `acks` and `partitioner` are topic-level properties in librdkafka: they go in `topicConfig`. */
  constructor(ckjs: CkjsModule, config: Ckjs.ProducerGlobalConfig, topicConfig: Ckjs.ProducerTopicConfig = {}) {
    this.producer = new ckjs.Producer({ dr_cb: true, 'linger.ms': 5, ...config }, topicConfig);
    this.producer.setPollInterval(5);
  }

  async connect(): Promise<this> {
    await connected(this.producer);
    return this;
  }

  send(topic: string, messages: OutMessage[], timeoutMs = 20_000): Promise<Delivered[]> {
    return new Promise((resolve, reject) => {
      const reports: Delivered[] = new Array(messages.length);
      let pending = messages.length;
      const timer = setTimeout(() => finish(new Error(`${pending} of ${messages.length} deliveries outstanding after ${timeoutMs} ms`)), timeoutMs);
      const finish = (err?: Error) => {
        clearTimeout(timer);
        this.producer.removeListener('delivery-report', onReport);
        if (err) reject(err);
        else resolve(reports);
      };
      const onReport = (err: Ckjs.LibrdKafkaError | null, r: Ckjs.DeliveryReport) => {
        const i = r.opaque as number | undefined;
        if (typeof i !== 'number' || i < 0 || i >= messages.length || reports[i] !== undefined) return;
        if (err) return finish(new Error(`delivery failed: ${err.message}`));
        reports[i] = { partition: r.partition, offset: r.offset, key: r.key === undefined || r.key === null ? null : r.key.toString(), value: r.value?.toString() ?? '' };
        if (--pending === 0) finish();
      };
      this.producer.on('delivery-report', onReport);
      messages.forEach((m, i) => {
        this.producer.produce(topic, m.partition ?? null, m.value, m.key ?? null, m.timestamp ?? null, i, m.headers);
      });
      this.producer.flush(timeoutMs, () => undefined);
    });
  }

  disconnect(): Promise<void> {
    return disconnected(this.producer);
  }
}

/**
 * A test broker (`opts` as startTestBroker's) with the admin client and the producer most client
 * tests start with: the producer partitions keys as Java's client does (murmur2) and waits for
 * acks=-1. `close` disconnects both and stops the broker.
 */
export async function startBrokerWithCkjs(
  ckjs: CkjsModule,
  opts: Parameters<typeof startTestBroker>[0],
): Promise<{ broker: TestBroker; admin: Ckjs.IAdminClient; producer: DrProducer; close(): Promise<void> }> {
  const broker = await startTestBroker(opts);
  const admin = ckjs.AdminClient.create({ 'bootstrap.servers': broker.bootstrap });
  const producer = await new DrProducer(ckjs, { 'bootstrap.servers': broker.bootstrap }, { partitioner: 'murmur2_random', acks: -1 }).connect();
  return {
    broker,
    admin,
    producer,
    async close() {
      await producer.disconnect();
      admin.disconnect();
      await broker.close();
    },
  };
}

export interface Consumed {
  partition: number;
  offset: number;
  key: string | null;
  /** Empty for a tombstone too: `tombstone` tells them apart. */
  value: Buffer;
  /** The record's value is null (a deletion, on a compacted topic). */
  tombstone: boolean;
  timestamp: number | undefined;
  headers: [string, string][];
}

export function toConsumed(m: Ckjs.Message): Consumed {
  return {
    partition: m.partition,
    offset: m.offset,
    key: m.key === undefined || m.key === null ? null : m.key.toString(),
    value: m.value ?? Buffer.alloc(0),
    tombstone: m.value === null || m.value === undefined,
    timestamp: m.timestamp,
    headers: (m.headers ?? []).flatMap((h) => Object.entries(h).map(([k, v]): [string, string] => [k, v.toString()])),
  };
}

/** One consume call: up to `n` messages, or fewer after the consumer's wait. */
export function consumeBatch(consumer: Ckjs.KafkaConsumer, n: number): Promise<Consumed[]> {
  return new Promise((resolve, reject) => {
    consumer.consume(n, (err, messages) => (err ? reject(err) : resolve(messages.map(toConsumed))));
  });
}

/** Consumes until `count` messages have arrived (or fails after `timeoutMs`). */
export async function consumeCount(consumer: Ckjs.KafkaConsumer, count: number, timeoutMs = 20_000): Promise<Consumed[]> {
  const out: Consumed[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    if (Date.now() > deadline) throw new Error(`consumed ${out.length} of ${count} messages in ${timeoutMs} ms`);
    out.push(...(await consumeBatch(consumer, count - out.length)));
  }
  return out;
}

/** A consumer assigned to `partitions` from the beginning, outside any group's management. */
export async function assignedConsumer(ckjs: CkjsModule, bootstrap: string, topic: string, partitions: number[], config: Partial<Ckjs.ConsumerGlobalConfig> = {}): Promise<Ckjs.KafkaConsumer> {
  const consumer = new ckjs.KafkaConsumer(
    { 'bootstrap.servers': bootstrap, 'group.id': `assign-${topic}-${Math.random()}`, 'enable.auto.commit': false, 'fetch.wait.max.ms': 100, ...config },
    { 'auto.offset.reset': 'earliest' },
  );
  await connected(consumer);
  consumer.setDefaultConsumeTimeout(200);
  consumer.assign(partitions.map((partition) => ({ topic, partition, offset: 0 })));
  return consumer;
}

export function watermarks(consumer: Ckjs.KafkaConsumer, topic: string, partition: number): Promise<Ckjs.WatermarkOffsets> {
  return new Promise((resolve, reject) => {
    consumer.queryWatermarkOffsets(topic, partition, 5_000, (err, offsets) => (err ? reject(err) : resolve(offsets)));
  });
}

export function offsetsForTimes(consumer: Ckjs.KafkaConsumer, query: Ckjs.TopicPartitionTime[]): Promise<Ckjs.TopicPartitionOffset[]> {
  return new Promise((resolve, reject) => {
    consumer.offsetsForTimes(query, 5_000, (err, offsets) => (err ? reject(err) : resolve(offsets)));
  });
}

export function createTopic(admin: Ckjs.IAdminClient, topic: Ckjs.NewTopic): Promise<void> {
  return new Promise((resolve, reject) => admin.createTopic(topic, 10_000, (err) => (err ? reject(err) : resolve())));
}

export function listTopics(admin: Ckjs.IAdminClient): Promise<string[]> {
  return new Promise((resolve, reject) => admin.listTopics({ timeout: 10_000 }, (err, topics) => (err ? reject(err) : resolve(topics))));
}
