/**
 * Child process for the recovery test: appends `commits` single-record commits to topic `t`
 * (segment.bytes as given), prints `done`, then waits to be SIGKILLed, so the store never writes
 * the checkpoint it writes at a clean close.
 *
 * Usage: node append-then-hang.js <dir> <commits> <segmentBytes>
 */
import { kafkaTopicDefaults } from '../../src/store/index.js';
import { openTestStore } from './store.js';

const [dir, commitsArg, segmentBytesArg] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: append-then-hang <dir> <commits> <segmentBytes>');
const store = await openTestStore(dir, { topicDefaults: { ...kafkaTopicDefaults(), 'segment.bytes': Number(segmentBytesArg) }, blockTimeoutMs: 10_000 });
if (!store.hasTopic('t')) await store.createTopic('t');
for (let i = 0; i < Number(commitsArg); i++) {
  await store.appendRecords('t', 0, [{ key: null, value: Buffer.alloc(100 + (i % 50), i % 256), timestamp: 1_000_000 + i }]);
}
process.stdout.write('done\n');
setInterval(() => undefined, 1 << 30);
