/**
 * Child process: appends idempotent producers' batches to a store, prints `ack <producerId>
 * <seq> <count> <baseOffset>` once each is durable, and after `rounds` batches kills itself with
 * SIGKILL, so nothing at close writes the producer snapshot: the parent checks what the next open
 * rebuilds from the stored snapshot and the batches after it.
 *
 * Usage: node producer-crash-child.js <dir> <rounds> <segmentBytes>
 */
import { kafkaTopicDefaults } from '../../src/store/index.js';
import { openTestStore } from './store.js';
import { producerBatch } from './producer-batches.js';

const [dir, roundsArg, segmentArg] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: producer-crash-child <dir> <rounds> <segmentBytes>');
const store = await openTestStore(dir, {
  topicDefaults: { ...kafkaTopicDefaults(), 'segment.bytes': Number(segmentArg) },
  blockTimeoutMs: 10_000,
});
if (!store.hasTopic('t')) await store.createTopic('t', { partitions: 1 });
const producers = [101, 102, 103];
const next = new Map(producers.map((p) => [p, 0]));
for (let round = 0; round < Number(roundsArg); round++) {
  const producerId = producers[round % producers.length]!;
  const seq = next.get(producerId)!;
  const count = 1 + (round % 4);
  const r = await store.appendBatches('t', 0, producerBatch({ producerId, seq, count, label: 'x'.repeat(200) }));
  next.set(producerId, seq + count);
  process.stdout.write(`ack ${producerId} ${seq} ${count} ${r.baseOffset}\n`);
}
process.kill(process.pid, 'SIGKILL');
