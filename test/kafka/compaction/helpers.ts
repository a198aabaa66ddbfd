/**
 * Shared by the compaction tests: a compacted topic created over the Kafka protocol, records
 * produced by kafkajs with their offsets, what a compacted partition must then hold, and three
 * independent readers of a partition from offset 0 (kcat, kafka-python, librdkafka), each giving
 * what its consumer saw as (offset, key, value), a null value being a tombstone.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { CompressionTypes, type Admin, type Producer } from 'kafkajs';
import { assignedConsumer, consumeBatch, disconnected, type Ckjs, type CkjsModule } from '../server/ckjs.js';
import { requireKcat, requireTool } from '../../helpers/required-tools.js';

export interface Seen {
  offset: number;
  key: string | null;
  /** null: a tombstone. */
  value: string | null;
}

export type KeyedValue = Omit<Seen, 'offset'>;

/**
 * Creates `topic` (one partition) with `cleanup.policy=compact` and `configs`, as a client would
 * with CreateTopics.
 */
export async function createCompactedTopic(admin: Admin, topic: string, configs: Record<string, string>): Promise<void> {
  const configEntries = Object.entries({ 'cleanup.policy': 'compact', ...configs }).map(([name, value]) => ({ name, value }));
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries }], waitForLeaders: true });
}

/**
 * Produces `records` to partition 0 of `topic` as one batch (acks=all), gzip-compressed when
 * asked, and returns them with the offsets they were given.
 */
export async function produceBatch(producer: Producer, topic: string, records: KeyedValue[], gzip = false): Promise<Seen[]> {
  const [meta] = await producer.send({
    topic,
    acks: -1,
    compression: gzip ? CompressionTypes.GZIP : CompressionTypes.None,
    messages: records.map((r) => ({ partition: 0, key: r.key, value: r.value })),
  });
  const base = Number(meta!.baseOffset);
  return records.map((r, i) => ({ offset: base + i, ...r }));
}

/**
 * What a compacted partition holds once the cleaner has passed over everything below `cleanEnd`
 * (the start of the active segment): below it, the latest record of each key, tombstones included
 * unless `tombstonesExpired` (Kafka keeps them `delete.retention.ms` after their segment was first
 * cleaned); from it on, every record. In offset order.
 */
export function latestPerKey(produced: readonly Seen[], cleanEnd: number, tombstonesExpired = false): Seen[] {
  const latest = new Map<string | null, number>();
  for (const r of produced) if (r.offset < cleanEnd) latest.set(r.key, Math.max(latest.get(r.key) ?? -1, r.offset));
  return produced
    .filter((r) => r.offset >= cleanEnd || (latest.get(r.key) === r.offset && !(tombstonesExpired && r.value === null)))
    .sort((a, b) => a.offset - b.offset);
}

/** Reads a whole partition back; `lastOffset` is the offset of its last record (high watermark - 1). */
export type PartitionReader = (bootstrap: string, topic: string, partition: number, lastOffset: number) => Promise<Seen[]>;

const run = promisify(execFile);

/** kcat (librdkafka 2.0) from the beginning to the end of the partition (-e), as JSON lines. */
export const readWithKcat: PartitionReader = async (bootstrap, topic, partition) => {
  requireKcat();
  const { stdout } = await run('kcat', ['-b', bootstrap, '-C', '-t', topic, '-p', String(partition), '-o', 'beginning', '-e', '-J', '-q'], { timeout: 20_000, maxBuffer: 64 << 20 });
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const m = JSON.parse(l) as { offset: number; key: string | null; payload: string | null };
      return { offset: m.offset, key: m.key, value: m.payload };
    });
};

const PYTHON = '/usr/bin/python3';
/** kafka-python's KafkaConsumer, assigned the partition, polled until its position reaches the end offset. */
const PYTHON_READER = `
import sys, json, time
from kafka import KafkaConsumer, TopicPartition
bootstrap, topic, partition = sys.argv[1], sys.argv[2], int(sys.argv[3])
consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset='earliest')
tp = TopicPartition(topic, partition)
consumer.assign([tp])
consumer.seek_to_beginning(tp)
end = consumer.end_offsets([tp])[tp]
out = []
deadline = time.time() + 15
while consumer.position(tp) < end and time.time() < deadline:
    for records in consumer.poll(timeout_ms=200).values():
        out.extend([r.offset, None if r.key is None else r.key.decode(), None if r.value is None else r.value.decode()] for r in records)
consumer.close()
print(json.dumps(out))
`;

export const readWithKafkaPython: PartitionReader = async (bootstrap, topic, partition) => {
  requireTool('python3 with kafka-python', [PYTHON, ['-c', 'import kafka']], 'apt-get install -y python3-kafka');
  const child = spawn(PYTHON, ['-c', PYTHON_READER, bootstrap, topic, String(partition)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`kafka-python reader exited ${code}: ${stderr}`);
  return (JSON.parse(stdout) as [number, string | null, string | null][]).map(([offset, key, value]) => ({ offset, key, value }));
};

/** librdkafka 2.15 (@confluentinc/kafka-javascript), assigned the partition from offset 0, consumed through `lastOffset`. */
export function readWithLibrdkafka(ckjs: CkjsModule): PartitionReader {
  return async (bootstrap, topic, partition, lastOffset) => {
    const consumer = await assignedConsumer(ckjs, bootstrap, topic, [partition]);
    try {
      return await consumeThrough(consumer, lastOffset);
    } finally {
      await disconnected(consumer);
    }
  };
}

/** What a librdkafka consumer (of one partition) gets until it has read `lastOffset`, or fails after 20 s. */
export async function consumeThrough(consumer: Ckjs.KafkaConsumer, lastOffset: number): Promise<Seen[]> {
  const out: Seen[] = [];
  const deadline = Date.now() + 20_000;
  while ((out.at(-1)?.offset ?? -1) < lastOffset) {
    if (Date.now() > deadline) throw new Error(`librdkafka read through offset ${out.at(-1)?.offset ?? 'none'} of ${lastOffset} in 20 s`);
    for (const m of await consumeBatch(consumer, 500)) out.push({ offset: m.offset, key: m.key, value: m.tombstone ? null : m.value.toString() });
  }
  return out;
}
