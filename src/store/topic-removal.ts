/**
 * Deleting a topic: forgotten first, so no new append reaches it; the appends already queued land
 * (their callers were told they were accepted); then its batches, segment rows, partition rows,
 * the log cleaner's rows, cursors and group offsets go in one transaction.
 */
import type { StoreCounters } from './counters.js';
import { logKey, partitionEndKey } from './keys.js';
import { TxnWrites, type LmdbEnv } from './lmdb-env.js';
import type { PartitionState } from './partition.js';
import type { TopicRegistry } from './topics.js';
import type { CursorPosition } from './types.js';

export async function removeTopic(
  env: LmdbEnv,
  topics: TopicRegistry,
  counters: StoreCounters,
  cursors: () => CursorPosition[],
  name: string,
): Promise<void> {
  const partitions = topics.partitionsOf(name);
  const removeRecord = topics.remove(name);
  await Promise.all(partitions.map((p) => p.whenAppendsSettled()));
  const writes = new TxnWrites();
  writes.add(removeRecord);
  for (const p of partitions) {
    p.releaseWaiters();
    counters.usedBytes -= p.sizeBytes;
    removePartition(env, p, writes);
  }
  for (const c of cursors()) if (c.topic === name) writes.add(env.cursors.remove([c.name, c.topic, c.partition]));
  for (const { key } of env.groups.getRange()) if (key[1] === name) writes.add(env.groups.remove(key));
  await writes.durable();
}

function removePartition(env: LmdbEnv, p: PartitionState, writes: TxnWrites): void {
  for (const key of env.batches.getKeys({ start: logKey(p.id, 0), end: partitionEndKey(p.id) })) {
    writes.add(env.batches.remove(Buffer.from(key)));
  }
  for (const key of env.segments.getKeys({ start: logKey(p.id, 0), end: partitionEndKey(p.id) })) {
    writes.add(env.segments.remove(Buffer.from(key)));
  }
  writes.add(env.partitions.remove(p.id));
  writes.add(env.cleaner.remove(p.id));
  writes.add(env.producers.remove(p.id));
  for (const key of env.txnIndex.getKeys({ start: logKey(p.id, 0), end: partitionEndKey(p.id) })) {
    writes.add(env.txnIndex.remove(Buffer.from(key)));
  }
}
