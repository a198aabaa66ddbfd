/**
 * Child process for the recovery test: appends `commits` single-record commits to topic `t`
 * (segment.bytes as given), prints `done`, then waits to be SIGKILLed, so the store never writes
 * the checkpoint it writes at a clean close.
 *
 * Usage: node append-then-hang.js <dir> <commits> <segmentBytes>
 */
import { pino } from 'pino';
import { openStore, kafkaTopicDefaults } from '../../src/store/index.js';

const [dir, commitsArg, segmentBytesArg] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: append-then-hang <dir> <commits> <segmentBytes>');
const store = await openStore(
  {
    dir,
    topicDefaults: { ...kafkaTopicDefaults(), 'segment.bytes': Number(segmentBytesArg) },
    defaultPartitions: 1,
    diskBudgetBytes: 1024 ** 3,
    writeQueueMaxRecords: 10_000,
    writeQueueMaxBytes: 8 * 1024 * 1024,
    blockTimeoutMs: 10_000,
    retentionCheckIntervalMs: 0,
    overlappingSync: true,
  },
  pino({ level: 'silent' }),
);
if (!store.hasTopic('t')) await store.createTopic('t');
for (let i = 0; i < Number(commitsArg); i++) {
  await store.appendRecords('t', 0, [{ key: null, value: Buffer.alloc(100 + (i % 50), i % 256), timestamp: 1_000_000 + i }]);
}
process.stdout.write('done\n');
setInterval(() => undefined, 1 << 30);
