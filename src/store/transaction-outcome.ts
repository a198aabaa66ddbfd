/**
 * Ending a Kafka transaction in the log (KIP-98): the marker into every partition it wrote, the
 * group offsets it commits (TxnOffsetCommit) and the coordinator's own row, all in one LMDB
 * transaction, so a crash leaves the whole outcome or none of it. The group committer keeps the
 * markers together (`joinsNext`); the offsets and the row ride along with the last of them.
 */
import { encodeTransactionMarker } from '../kafka/protocol/control-batch.js';
import type { Appender } from './appender.js';
import { kvKey } from './kv.js';
import { TxnWrites, type LmdbEnv } from './lmdb-env.js';
import type { TopicRegistry } from './topics.js';
import type { TransactionOutcome } from './types.js';

export async function writeTransactionOutcome(env: LmdbEnv, topics: TopicRegistry, appender: Appender, outcome: TransactionOutcome): Promise<void> {
  const batch = encodeTransactionMarker({ ...outcome.marker, timestamp: Date.now() });
  // A partition deleted since the transaction wrote to it has nothing left to mark.
  const parts = outcome.partitions
    .filter((p) => topics.has(p.topic) && p.partition >= 0 && p.partition < topics.partitionCount(p.topic))
    .map((p) => ({ ...p, batch: Buffer.from(batch) }));
  const writes = new TxnWrites();
  const alsoWrite = () => {
    const commitTimestamp = Date.now();
    for (const { group, offsets } of outcome.groupOffsets) {
      for (const o of offsets) writes.add(env.groups.put([group, o.topic, o.partition], { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTimestamp }));
    }
    for (const w of outcome.kv) writes.add(env.kv.put(kvKey(w.namespace, w.key), w.value));
  };
  if (parts.length === 0) {
    alsoWrite();
    return writes.durable();
  }
  await appender.appendInOneTransaction(parts, alsoWrite);
}

/** Every partition where the log holds `producerId`'s transaction open: after a restart, the truth. */
export function openTransactionPartitions(topics: TopicRegistry, producerId: number): { topic: string; partition: number }[] {
  return topics
    .allPartitions()
    .filter((p) => (p.producers?.get(producerId)?.txnFirstOffset ?? -1) >= 0)
    .map((p) => ({ topic: p.topic, partition: p.partition }));
}
