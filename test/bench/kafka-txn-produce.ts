/**
 * librdkafka (@confluentinc/kafka-javascript, in the harness's process) producing `records`
 * values of `bytes` bytes to partition 0 of a topic with acks=all, either idempotent (one
 * stream, flushed at the end) or transactional (KIP-98: `perTransaction` records per
 * transaction, begin, produce, commit, one transaction at a time as one producer does), with
 * the same batching as bench:kafka's kcat produce. Resolves with the seconds from the first
 * produce to the last delivery (idempotent) or the last commit (transactional).
 */
import { createRequire } from 'node:module';
import type * as RdKafka from '@confluentinc/kafka-javascript';

export type ProduceMode = 'idempotent' | 'transactional';

export interface ProduceSpec {
  bootstrap: string;
  topic: string;
  records: number;
  bytes: number;
  perTransaction: number;
}

const call = (fn: (cb: (err: RdKafka.LibrdKafkaError | null | undefined) => void) => void): Promise<void> =>
  new Promise((resolve, reject) => fn((err) => (err ? reject(new Error(`${err.message} (${err.code})`)) : resolve())));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function librdkafkaProduce(mode: ProduceMode, spec: ProduceSpec): Promise<{ seconds: number; transactions: number }> {
  const Kafka = createRequire(import.meta.url)('@confluentinc/kafka-javascript') as typeof RdKafka;
  const producer = new Kafka.Producer({
    'bootstrap.servers': spec.bootstrap,
    dr_cb: true,
    'enable.idempotence': true,
    ...(mode === 'transactional' ? { 'transactional.id': `bench-${process.pid}-${Date.now()}` } : {}),
    'linger.ms': 5,
    'batch.num.messages': 10_000,
    'batch.size': 1_000_000,
    'queue.buffering.max.messages': 1_000_000,
  }, { acks: -1 });
  await call((cb) => producer.connect({ timeout: 10_000 }, cb));
  producer.setPollInterval(5);
  let delivered = 0;
  let failed: string | undefined;
  producer.on('delivery-report', (err) => {
    if (err) failed ??= err.message;
    delivered++;
  });
  const value = Buffer.alloc(spec.bytes, 0x61);
  const produce = async (n: number) => {
    for (let i = 0; i < n; ) {
      try {
        producer.produce(spec.topic, 0, value);
        i++;
      } catch {
        await sleep(1); // the local queue is full: let deliveries drain
      }
    }
  };
  try {
    if (mode === 'transactional') await call((cb) => producer.initTransactions(30_000, cb));
    const started = performance.now();
    let transactions = 0;
    if (mode === 'idempotent') {
      await produce(spec.records);
      while (delivered < spec.records && failed === undefined) await sleep(1);
    } else {
      for (let sent = 0; sent < spec.records; sent += spec.perTransaction, transactions++) {
        await call((cb) => producer.beginTransaction(cb));
        await produce(Math.min(spec.perTransaction, spec.records - sent));
        await call((cb) => producer.commitTransaction(30_000, cb));
      }
    }
    const seconds = (performance.now() - started) / 1000;
    if (failed !== undefined) throw new Error(`${mode} produce: a delivery failed: ${failed}`);
    return { seconds, transactions };
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
}
