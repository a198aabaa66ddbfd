/**
 * Kafka's default partitioner, for records Weir produces itself (MQTT ingest, the mirror's
 * dead-letter topic): murmur2 of the key, as a Java producer would pick, and for null keys the
 * sticky partitioner (KIP-480), which stays on one partition for about a batch, then moves on.
 * Producer policy, not storage: the store appends to whichever partition it is given.
 */
import { partitionForKey } from '../kafka/protocol/murmur2.js';
import type { TopicAdmin } from '../store/types.js';

/** The sticky partitioner moves on after this many null-key records, about one batch. */
const STICKY_BATCH_RECORDS = 100;
/** Sticky entries kept before those of deleted topics are pruned (then twice what is left). */
const MIN_PRUNE_AT = 64;

/** What the partitioner asks of the log: how many partitions a topic has, whether it exists. */
export type PartitionCounts = Pick<TopicAdmin, 'partitionCount' | 'hasTopic'>;

export class DefaultPartitioner {
  private readonly sticky = new Map<string, { partition: number; records: number }>();
  private pruneAt = MIN_PRUNE_AT;

  constructor(private readonly topics: PartitionCounts) {}

  /** The partition of `topic` a record with `key` goes to (UNKNOWN_TOPIC_OR_PARTITION if there is no topic). */
  partitionFor(topic: string, key: Buffer | null): number {
    const count = this.topics.partitionCount(topic);
    if (key !== null) return partitionForKey(key, count);
    let sticky = this.sticky.get(topic);
    if (sticky === undefined || sticky.records >= STICKY_BATCH_RECORDS || sticky.partition >= count) {
      const previous = sticky?.partition ?? -1;
      let next = Math.floor(Math.random() * count);
      if (count > 1 && next === previous) next = (next + 1) % count;
      if (sticky === undefined) this.pruneDeletedTopics();
      sticky = { partition: next, records: 0 };
      this.sticky.set(topic, sticky);
    }
    sticky.records++;
    return sticky.partition;
  }

  /** Forgets deleted topics, so topics created and deleted over months do not pile up here. */
  private pruneDeletedTopics(): void {
    if (this.sticky.size < this.pruneAt) return;
    for (const topic of this.sticky.keys()) if (!this.topics.hasTopic(topic)) this.sticky.delete(topic);
    this.pruneAt = Math.max(MIN_PRUNE_AT, 2 * this.sticky.size);
  }
}
