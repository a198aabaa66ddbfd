/**
 * Child process: transactions into three partitions, each ended by store.writeTransactionOutcome
 * (markers, a group offset and a kv row in one LMDB transaction), several at once, while plain
 * 64 KiB appends keep the writer busy, so kills land mid-commit. Prints `done <producerId>` once an
 * outcome is durable. The parent SIGKILLs it and checks each outcome is all there or not at all.
 *
 * Usage: node outcome-crash-child.js <dir> <firstProducerId>
 */
import { kafkaTopicDefaults } from '../../src/store/index.js';
import { openTestStore } from './store.js';
import { producerBatch } from './producer-batches.js';

const [dir, firstArg] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: outcome-crash-child <dir> <firstProducerId>');
const store = await openTestStore(dir, {
  topicDefaults: { ...kafkaTopicDefaults(), 'segment.bytes': 1024 * 1024 },
  defaultPartitions: 3,
  diskBudgetBytes: 4 * 1024 ** 3,
  blockTimeoutMs: 10_000,
});
for (const topic of ['out', 'bulk']) if (!store.hasTopic(topic)) await store.createTopic(topic, { partitions: 3 });
process.stdout.write('ready\n');

const big = Buffer.alloc(64 * 1024, 1);
void (async () => {
  for (;;) await Promise.all([0, 1, 2].map((p) => store.appendRecords('bulk', p, [{ key: null, value: big }])));
})();

let next = Number(firstArg);
async function oneTransaction(): Promise<void> {
  const producerId = next++;
  await Promise.all([0, 1, 2].map((p) => store.appendBatches('out', p, producerBatch({ producerId, seq: 0, count: 2, transactional: true }))));
  await store.writeTransactionOutcome({
    marker: { producerId, producerEpoch: 0, commit: true, coordinatorEpoch: 0 },
    partitions: [0, 1, 2].map((partition) => ({ topic: 'out', partition })),
    groupOffsets: [{ group: `g${producerId}`, offsets: [{ topic: 'bulk', partition: 0, offset: producerId, leaderEpoch: -1, metadata: null }] }],
    kv: [{ namespace: 'outcomes', key: [producerId], value: producerId }],
  });
  process.stdout.write(`done ${producerId}\n`);
}
for (let lane = 0; lane < 4; lane++) {
  void (async () => {
    for (;;) await oneTransaction();
  })();
}
