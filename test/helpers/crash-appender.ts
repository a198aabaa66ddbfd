/**
 * Child process for the crash tests: appends as fast as it can from many concurrent callers and
 * prints one line per acknowledged append, `ack <partition> <offset> <worker> <seq>`, only after
 * the append's promise resolved (i.e. after the store says it is durable). The parent SIGKILLs
 * this process at random moments and checks every printed ack against the reopened store.
 *
 * stdout to a pipe is synchronous on Linux, so a printed line is in the parent's pipe before the
 * next append starts: a kill can lose an unprinted ack, never print one that did not happen.
 *
 * Usage: node crash-appender.js <dir> <workers> <partitions> <overlappingSync: 1|0>
 */
import { pino } from 'pino';
import { DefaultPartitioner } from '../../src/produce/partitioner.js';
import { openStore, kafkaTopicDefaults } from '../../src/store/index.js';
import { crashRecordKey, crashRecordValue, CRASH_TOPIC } from './crash-records.js';

const [dir, workersArg, partitionsArg, overlappingArg] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: crash-appender <dir> <workers> <partitions> <overlappingSync>');
const workers = Number(workersArg ?? 50);
const partitions = Number(partitionsArg ?? 4);

const store = await openStore(
  {
    dir,
    topicDefaults: { ...kafkaTopicDefaults(), 'segment.bytes': 64 * 1024 },
    defaultPartitions: partitions,
    diskBudgetBytes: 1024 ** 3,
    writeQueueMaxRecords: 10_000,
    writeQueueMaxBytes: 8 * 1024 * 1024,
    blockTimeoutMs: 10_000,
    retentionCheckIntervalMs: 0,
    overlappingSync: overlappingArg !== '0',
  },
  pino({ level: 'silent' }),
);
if (!store.hasTopic(CRASH_TOPIC)) await store.createTopic(CRASH_TOPIC, { partitions });
const partitioner = new DefaultPartitioner(store);
process.stdout.write('ready\n');

// Each run uses fresh worker ids so acks of different runs never collide.
const run = `${process.pid}`;
async function worker(w: number): Promise<void> {
  const id = `${run}.${w}`;
  for (let seq = 0; ; seq++) {
    const key = crashRecordKey(id);
    const partition = partitioner.partitionFor(CRASH_TOPIC, key);
    const { baseOffset } = await store.appendRecords(CRASH_TOPIC, partition, [{ key, value: crashRecordValue(id, seq) }]);
    process.stdout.write(`ack ${partition} ${baseOffset} ${id} ${seq}\n`);
  }
}
await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
