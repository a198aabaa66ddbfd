/**
 * The exactly-once cursors upstream (KIP-618's offsets topic, for the mirror): a compacted topic
 * where each record says how far one device's rule got in one local partition.
 *
 *   key   ["<device id>", "<rule>", "<local topic>", <local partition>]  (JSON)
 *   value {"next": <next local offset to send>}                           (JSON)
 *
 * The mirror writes a partition's cursor in the same transaction as the records it covers, so a
 * read_committed reader sees the cursor exactly when it sees those records. At start it reads the
 * topic to its end with isolation.level=read_committed and resumes from what it finds there.
 *
 * "To its end" is the high watermark, not the last stable offset: the topic is shared by a fleet,
 * and another device's open transaction holds the last stable offset back below records of ours
 * that are already committed. So the read goes on until read_committed has passed the high
 * watermark taken first (that transaction ends within its timeout).
 */
import { WeirError } from '../../src/errors.js';
import { partitionForKey } from '../../src/kafka/protocol/murmur2.js';
import type { Logger } from '../../src/logger.js';
import { securityConfig, type KafkaModule } from './client.js';
import type { MirrorRuleSpec, UpstreamSpec } from './config.js';
import { TRANSACTION_TIMEOUT_MS } from './txn-producer.js';
import type * as RdKafka from '@confluentinc/kafka-javascript';

type Consumer = RdKafka.KafkaConsumer;

const CONNECT_TIMEOUT_MS = 10_000;
/** A read waits out another device's open transaction (its timeout) and a margin for the coordinator's check. */
const READ_TIMEOUT_MS = TRANSACTION_TIMEOUT_MS + 30_000;

/** Where a rule stands in each local partition: `topic\0partition` → next offset to send. */
export type UpstreamCursors = Map<string, number>;

/** What a start reads: the rule's cursors, and the cursor topic's partition count (cursorPartition). */
export interface UpstreamCursorState {
  cursors: UpstreamCursors;
  partitions: number;
}

/**
 * The cursor topic's partition of a cursor record: murmur2 of its key, as Java's default
 * partitioner picks, whatever partitioner the rule's producer uses for its records. A key then
 * always lands in the same partition, where the last record is the latest cursor (and the one
 * compaction keeps), as long as the topic keeps its partition count.
 */
export function cursorPartition(key: Buffer, partitions: number): number {
  return partitionForKey(key, partitions);
}

export function cursorKey(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

/** The record of one cursor, as produced into the cursor topic. */
export function cursorRecord(deviceId: string, rule: string, topic: string, partition: number, next: number): { key: Buffer; value: Buffer } {
  return { key: Buffer.from(JSON.stringify([deviceId, rule, topic, partition])), value: Buffer.from(JSON.stringify({ next })) };
}

/** Parses a cursor record of this device and rule; undefined for others' and for anything malformed. */
export function parseCursor(deviceId: string, rule: string, key: Buffer | null | undefined, value: Buffer | null | undefined): { topic: string; partition: number; next: number } | undefined {
  if (key == null || value == null) return undefined;
  try {
    const k = JSON.parse(key.toString()) as unknown;
    const v = JSON.parse(value.toString()) as { next?: unknown };
    if (!Array.isArray(k) || k.length !== 4 || k[0] !== deviceId || k[1] !== rule) return undefined;
    const [, , topic, partition] = k as [string, string, unknown, unknown];
    if (typeof topic !== 'string' || !Number.isSafeInteger(partition) || !Number.isSafeInteger(v.next)) return undefined;
    return { topic, partition: partition as number, next: v.next as number };
  } catch {
    return undefined;
  }
}

function clientConfig(upstream: UpstreamSpec, deviceId: string, rule: MirrorRuleSpec, isolation: 'read_committed' | 'read_uncommitted'): Record<string, string | number | boolean> {
  return {
    'bootstrap.servers': upstream.bootstrapServers.join(','),
    'client.id': `${upstream.clientId.replaceAll('{device}', deviceId)}-cursors`,
    // Assigned partitions only: the group is never joined and nothing is committed (the binding
    // refuses to connect a consumer without a group.id).
    'group.id': `weir-mirror-cursors.${deviceId}.${rule.name}`,
    'enable.auto.commit': false,
    'isolation.level': isolation,
    'enable.partition.eof': true,
    'allow.auto.create.topics': false,
    'fetch.wait.max.ms': 100,
    'socket.connection.setup.timeout.ms': CONNECT_TIMEOUT_MS,
    ...securityConfig(upstream),
  };
}

function txnFailed(what: string, cause: unknown): WeirError {
  return new WeirError('MIRROR_TXN_FAILED', `${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
}

function connect(consumer: Consumer): Promise<void> {
  return new Promise((resolve, reject) => consumer.connect({ timeout: CONNECT_TIMEOUT_MS }, (err) => (err ? reject(txnFailed('cannot connect to read the mirror cursors', err)) : resolve())));
}

function disconnect(consumer: Consumer): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, 5000);
    try {
      consumer.disconnect(() => {
        clearTimeout(t);
        resolve();
      });
    } catch {
      clearTimeout(t);
      resolve();
    }
  });
}

/** The partition count of `topic`, or 0 when the upstream does not have it. */
function partitionsOf(consumer: Consumer, topic: string): Promise<number> {
  return new Promise((resolve, reject) =>
    consumer.getMetadata({ topic, timeout: CONNECT_TIMEOUT_MS }, (err, md) => {
      if (err) return reject(txnFailed(`cannot read the metadata of ${topic}`, err));
      resolve(md.topics.find((t) => t.name === topic)?.partitions.length ?? 0);
    }),
  );
}

/**
 * Creates the cursor topic compacted, with the broker's default partitions and replication
 * (-1: KIP-464, Apache Kafka ≥ 2.4; older brokers need the topic created beforehand).
 */
function createCursorTopic(kafka: KafkaModule, consumer: Consumer, topic: string): Promise<void> {
  const admin = kafka.AdminClient.createFrom(consumer);
  return new Promise<void>((resolve, reject) =>
    admin.createTopic({ topic, num_partitions: -1, replication_factor: -1, config: { 'cleanup.policy': 'compact' } }, CONNECT_TIMEOUT_MS, (err) => {
      if (!err || err.code === kafka.CODES.ERRORS.ERR_TOPIC_ALREADY_EXISTS) return resolve();
      reject(txnFailed(`cannot create the mirror cursor topic ${topic} (create it compacted by hand on brokers older than Kafka 2.4)`, err));
    }),
  );
}

function highWatermarks(consumer: Consumer, topic: string, partitions: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: partitions }, (_, p) =>
      new Promise<number>((resolve, reject) => consumer.queryWatermarkOffsets(topic, p, CONNECT_TIMEOUT_MS, (err, o) => (err ? reject(txnFailed(`cannot read the end of ${topic}[${p}]`, err)) : resolve(o.highOffset)))),
    ),
  );
}

/**
 * Reads this rule's cursors from the cursor topic (creating the topic when it is missing), with
 * read_committed, to the high watermark of every partition. Call it after initTransactions: that
 * aborted any transaction the previous run of this rule left open, so nothing of ours is pending.
 */
export async function readUpstreamCursors(kafka: KafkaModule, upstream: UpstreamSpec, rule: MirrorRuleSpec, deviceId: string, log: Logger, signal: AbortSignal): Promise<UpstreamCursorState> {
  const topic = rule.cursorTopic;
  const ends = new kafka.KafkaConsumer(clientConfig(upstream, deviceId, rule, 'read_uncommitted'), {});
  let partitions: number;
  let targets: number[];
  try {
    await connect(ends);
    partitions = await partitionsOf(ends, topic);
    if (partitions === 0) {
      log.info({ cursorTopic: topic }, 'creating the upstream topic of exactly-once mirror cursors (compacted)');
      await createCursorTopic(kafka, ends, topic);
      partitions = await partitionsOf(ends, topic);
      if (partitions === 0) throw txnFailed(`the mirror cursor topic ${topic}`, new Error('not visible after it was created'));
    }
    targets = await highWatermarks(ends, topic, partitions);
  } finally {
    await disconnect(ends);
  }
  const cursors: UpstreamCursors = new Map();
  if (targets.every((t) => t === 0)) return { cursors, partitions };
  const consumer = new kafka.KafkaConsumer(clientConfig(upstream, deviceId, rule, 'read_committed'), { 'auto.offset.reset': 'earliest' });
  try {
    await connect(consumer);
    await readTo(consumer, topic, targets, signal, (key, value) => {
      const c = parseCursor(deviceId, rule.name, key, value);
      if (c !== undefined) cursors.set(cursorKey(c.topic, c.partition), c.next);
    });
  } finally {
    await disconnect(consumer);
  }
  return { cursors, partitions };
}

/** Consumes every partition from its start until read_committed reached `targets[p]` (or `signal` fires). */
async function readTo(consumer: Consumer, topic: string, targets: number[], signal: AbortSignal, onRecord: (key: Buffer | null | undefined, value: Buffer | null | undefined) => void): Promise<void> {
  const reached = targets.map(() => -1);
  const positions = targets.map(() => 0);
  consumer.on('partition.eof', (e: { partition: number; offset: number }) => (reached[e.partition] = Math.max(reached[e.partition] ?? -1, e.offset)));
  consumer.setDefaultConsumeTimeout(100);
  consumer.assign(targets.map((_, partition) => ({ topic, partition, offset: 0 })));
  const done = (): boolean => targets.every((t, p) => t === 0 || Math.max(reached[p]!, positions[p]!) >= t);
  const deadline = Date.now() + READ_TIMEOUT_MS;
  while (!done()) {
    if (signal.aborted) throw txnFailed(`reading ${topic}`, new Error('the mirror is stopping'));
    if (Date.now() > deadline) throw txnFailed(`cannot read ${topic} to its end with read_committed`, new Error(`reached ${reached.join(', ')} of ${targets.join(', ')} in ${READ_TIMEOUT_MS} ms (a transaction of another writer still open?)`));
    const batch = await new Promise<RdKafka.Message[]>((resolve, reject) => consumer.consume(500, (err, m) => (err ? reject(txnFailed(`cannot read ${topic}`, err)) : resolve(m))));
    for (const m of batch) {
      onRecord(m.key as Buffer | null | undefined, m.value);
      positions[m.partition] = Math.max(positions[m.partition]!, m.offset + 1);
    }
  }
}
