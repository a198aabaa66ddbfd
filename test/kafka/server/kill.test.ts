/**
 * Produce-acknowledged ⇒ on disk, under SIGKILL (docs/architecture.md, "Promises"). `weir start`
 * runs in a child process; eight kafkajs producers (acks=-1, each with its own connection) write to
 * two topics of three partitions and record every acknowledged offset; we SIGKILL Weir mid-stream,
 * reopen its store here and check that every acknowledged record is at its acknowledged offset with
 * its value, and that offsets are dense. Then restart on the same data and again, ten times. Zero
 * loss is the only passing result.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { decodeRecordBatch } from '../../../src/kafka/protocol/record-batch.js';
import { openTestStore, tempDir } from '../../helpers/store.js';
import { startWeirProcess, type WeirProcess } from '../../helpers/weir-process.js';

const TOPICS = ['kill-a', 'kill-b'];
const PARTITIONS = 3;
const PRODUCERS = 8;
const PER_SEND = 20;
const KILLS = 10;

interface Ack {
  topic: string;
  partition: number;
  offset: number;
  value: string;
}

let running: WeirProcess | undefined;
afterAll(async () => {
  await running?.kill();
});

/** One producer: sends PER_SEND records to one partition at a time, awaiting each ack, until stopped. */
async function produceLoop(producer: Producer, round: number, n: number, acks: Ack[], stopped: () => boolean): Promise<void> {
  for (let seq = 0; !stopped(); seq++) {
    const topic = TOPICS[n % TOPICS.length]!;
    const partition = (n + seq) % PARTITIONS;
    const values = Array.from({ length: PER_SEND }, (_, i) => `r${round}-p${n}-s${seq}-${i}`);
    let baseOffset: number;
    try {
      const [meta] = await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value, partition })) });
      baseOffset = Number(meta!.baseOffset);
    } catch {
      return; // the broker died: what was not acknowledged promises nothing
    }
    values.forEach((value, i) => acks.push({ topic, partition, offset: baseOffset + i, value }));
  }
}

async function round(dir: string, n: number, acks: Ack[]): Promise<number> {
  const weir = (running = await startWeirProcess(dir, { env: { WEIR_TOPIC_DEFAULTS__PARTITIONS: String(PARTITIONS) } }));
  const kafka = new Kafka({ clientId: `kill-${n}`, brokers: [weir.kafka], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const producers = await Promise.all(Array.from({ length: PRODUCERS }, async () => {
    const p = kafka.producer({ allowAutoTopicCreation: true });
    await p.connect();
    return p;
  }));
  const before = acks.length;
  let stop = false;
  const loops = producers.map((p, i) => produceLoop(p, n, i, acks, () => stop));
  // Kill under load: once this round has acknowledged something, at a random moment after.
  await expect.poll(() => acks.length, { timeout: 15_000, interval: 10 }).toBeGreaterThan(before + PER_SEND * PRODUCERS);
  await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 300)));
  const { signal } = await weir.kill('SIGKILL');
  running = undefined;
  expect(signal).toBe('SIGKILL');
  stop = true;
  await Promise.all(loops);
  await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)));
  return acks.length - before;
}

async function verify(dir: string, acks: Ack[]): Promise<number> {
  const store = await openTestStore(dir);
  try {
    const logs = new Map<string, Map<number, string>>();
    let records = 0;
    for (const topic of TOPICS) {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const { logStartOffset, highWatermark } = store.offsets(topic, partition);
        expect(logStartOffset).toBe(0);
        const log = new Map<number, string>();
        let expected = 0;
        while (expected < highWatermark) {
          for (const batch of store.read(topic, partition, expected, 1 << 20).batches) {
            for (const r of decodeRecordBatch(batch).records) {
              if (r.offset < expected) continue;
              // Dense: each offset once, in order.
              expect(r.offset, `${topic}-${partition}`).toBe(expected);
              log.set(r.offset, r.value?.toString() ?? '');
              expected++;
            }
          }
        }
        records += log.size;
        logs.set(`${topic}-${partition}`, log);
      }
    }
    const problems = acks.flatMap((a) => {
      const found = logs.get(`${a.topic}-${a.partition}`)?.get(a.offset);
      return found === a.value ? [] : [`${a.topic}-${a.partition}@${a.offset}: acknowledged ${a.value}, found ${found ?? 'nothing'}`];
    });
    expect(problems.slice(0, 10), `${problems.length} of ${acks.length} acknowledged records wrong or missing`).toEqual([]);
    return records;
  } finally {
    await store.close();
  }
}

describe('Kafka produce under SIGKILL', () => {
  it(`every record acknowledged with acks=-1 is at its offset after each of ${KILLS} kills`, async () => {
    const { dir, cleanup } = tempDir('weir-kafka-kill-');
    const started = Date.now();
    try {
      const acks: Ack[] = [];
      let records = 0;
      for (let n = 0; n < KILLS; n++) {
        const acked = await round(dir, n, acks);
        expect(acked, `round ${n} acknowledged nothing`).toBeGreaterThan(0);
        const now = await verify(dir, acks);
        // A restart continues the offsets: nothing stored earlier went away.
        expect(now).toBeGreaterThanOrEqual(records);
        records = now;
      }
      console.log(
        `kafka kill test: ${KILLS} kills, ${PRODUCERS} producers, ${acks.length} acknowledged records verified, ` +
          `${records} records on disk (${records - acks.length} stored but unacknowledged), ${Date.now() - started} ms`,
      );
    } finally {
      cleanup();
    }
  }, 120_000);
});
