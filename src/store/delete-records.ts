/**
 * Kafka's DeleteRecords: moves a partition's log start offset forward (retention then deletes
 * the segments wholly before it).
 */
import { WeirError } from '../errors.js';
import type { RetentionRunner } from './retention-runner.js';
import { deletes } from './topic-config.js';
import type { TopicRegistry } from './topics.js';

/** Moves the log start of `topic`-`partition` to `beforeOffset` (-1: the high watermark); returns the new log start. */
export async function deleteRecordsBefore(topics: TopicRegistry, retention: RetentionRunner, topic: string, partition: number, beforeOffset: number): Promise<number> {
  const p = topics.partition(topic, partition);
  // Kafka (Partition.deleteRecordsOnLeader) refuses it unless the policy deletes: on a
  // compact-only topic only the cleaner removes records, and every key's latest stays.
  if (!deletes(topics.config(topic))) {
    throw new WeirError('POLICY_VIOLATION', `Records of partition ${topic}-${partition} can not be deleted due to the configured policy (cleanup.policy=compact)`, {
      details: { topic, partition },
    });
  }
  const target = beforeOffset === -1 ? p.highWatermark : beforeOffset;
  if (target < 0 || target > p.highWatermark) {
    throw new WeirError('OFFSET_OUT_OF_RANGE', `cannot delete records before ${beforeOffset}: the high watermark of ${topic}-${partition} is ${p.highWatermark}`);
  }
  if (target > p.logStartOffset) await retention.moveLogStart(p, target);
  return p.logStartOffset;
}
