/**
 * Retention: which whole segments leave the log, and why. Planning is pure (tested on its own);
 * `deleteSegments` issues the LMDB removals.
 *
 * Kafka's rules, per partition, oldest segment first, stopping at the first one that stays:
 *   - retention.ms: a segment goes when its newest record is older than now - retention.ms
 *     (the active segment included, as Kafka rolls and deletes it once wholly expired);
 *   - retention.bytes: the oldest segments go while the partition minus that segment still holds
 *     at least retention.bytes (never the active segment);
 *   - DeleteRecords: segments wholly below the log start offset go.
 * retention.ms and retention.bytes apply only when `cleanup.policy` deletes (delete, or
 * compact,delete): a `compact`-only topic keeps its segments until the cleaner empties them, as
 * Kafka's UnifiedLog.deleteOldSegments does; segments below the log start offset, and the disk
 * budget's drop-oldest, still remove them.
 * Weir's rule on top: a segment holding records that a registered cursor (the mirror's) has not
 * passed stays, unless the topic's `weir.overflow.policy` is `drop-oldest`; records deleted
 * unpassed are reported as drops.
 */
import { dropAbortedBefore } from './aborted-txn-index.js';
import { logKey } from './keys.js';
import { durable, sameTransaction, type LmdbEnv, type SegmentMeta } from './lmdb-env.js';
import type { PartitionState } from './partition.js';
import { deletes, type TopicConfig } from './topic-config.js';
import type { DropEvent } from './types.js';

export interface SegmentDeletion {
  segment: SegmentMeta;
  reason: DropEvent['reason'] | 'log-start-offset';
  /** Records [from, to) deleted before every cursor had passed them (empty when from ≥ to). */
  droppedFrom: number;
  droppedTo: number;
}

export interface PartitionRetentionInput {
  segments: readonly SegmentMeta[];
  sizeBytes: number;
  highWatermark: number;
  logStartOffset: number;
  config: TopicConfig;
  /** Lowest offset any cursor on this partition has reached; Infinity when none is registered. */
  minCursor: number;
  now: number;
}

export function planRetention(input: PartitionRetentionInput): SegmentDeletion[] {
  const { segments, config, minCursor, now } = input;
  const byPolicy = deletes(config);
  const retentionMs = byPolicy ? config['retention.ms'] : -1;
  const retentionBytes = byPolicy ? config['retention.bytes'] : -1;
  const dropAllowed = config['weir.overflow.policy'] === 'drop-oldest';
  const out: SegmentDeletion[] = [];
  let size = input.sizeBytes;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const isActive = i === segments.length - 1;
    // Never delete what a commit in flight is still writing.
    if (segment.nextOffset > input.highWatermark) break;
    let reason: SegmentDeletion['reason'] | undefined;
    if (segment.nextOffset <= input.logStartOffset) reason = 'log-start-offset';
    else if (retentionMs >= 0 && segment.maxTimestamp < now - retentionMs) reason = 'retention.ms';
    else if (!isActive && retentionBytes >= 0 && size - segment.bytes >= retentionBytes) reason = 'retention.bytes';
    if (reason === undefined) break;
    const unpassedFrom = Math.max(segment.baseOffset, minCursor, input.logStartOffset);
    if (reason !== 'log-start-offset' && unpassedFrom < segment.nextOffset && !dropAllowed) break;
    out.push({
      segment,
      reason,
      droppedFrom: reason === 'log-start-offset' ? 0 : unpassedFrom,
      droppedTo: reason === 'log-start-offset' ? 0 : segment.nextOffset,
    });
    size -= segment.bytes;
  }
  return out;
}

export interface BudgetCandidate {
  partition: PartitionState;
  config: TopicConfig;
  minCursor: number;
}

/**
 * The disk budget is over by `excessBytes`: picks the oldest segments (by roll time, across
 * partitions) of topics whose overflow policy is `drop-oldest`, until enough is freed.
 */
export function planBudget(candidates: BudgetCandidate[], excessBytes: number): Map<PartitionState, SegmentDeletion[]> {
  const plan = new Map<PartitionState, SegmentDeletion[]>();
  if (excessBytes <= 0) return plan;
  const cursors = candidates
    .filter((c) => c.config['weir.overflow.policy'] === 'drop-oldest')
    .map((c) => ({ ...c, next: 0 }));
  let freed = 0;
  while (freed < excessBytes) {
    let best: (typeof cursors)[number] | undefined;
    for (const c of cursors) {
      const segment = c.partition.segments[c.next];
      if (segment === undefined || segment.nextOffset > c.partition.highWatermark) continue;
      if (best === undefined || segment.createdAt < best.partition.segments[best.next]!.createdAt) best = c;
    }
    if (best === undefined) break;
    const segment = best.partition.segments[best.next]!;
    best.next++;
    const droppedFrom = Math.max(segment.baseOffset, best.minCursor, best.partition.logStartOffset);
    let list = plan.get(best.partition);
    if (list === undefined) plan.set(best.partition, (list = []));
    list.push({ segment, reason: 'disk-budget', droppedFrom, droppedTo: segment.nextOffset });
    freed += segment.bytes;
  }
  return plan;
}

/**
 * Removes the planned segments of one partition (a prefix of its segment list) in one
 * transaction, and moves the log start offset past them. In-memory state changes at once, so
 * readers stop at the new log start; the returned promise resolves once the deletion is durable.
 */
export function deleteSegments(env: LmdbEnv, partition: PartitionState, deletions: SegmentDeletion[]): Promise<void> {
  for (const { segment } of deletions) {
    const start = logKey(partition.id, segment.baseOffset);
    const end = logKey(partition.id, segment.nextOffset);
    for (const key of env.batches.getKeys({ start, end })) sameTransaction(env.batches.remove(Buffer.from(key)));
    sameTransaction(env.segments.remove(start));
    const index = partition.segments.indexOf(segment);
    if (index >= 0) partition.segments.splice(index, 1);
    partition.sizeBytes -= segment.bytes;
    partition.logStartOffset = Math.max(partition.logStartOffset, segment.nextOffset);
  }
  if (partition.segments.length === 0) partition.logStartOffset = Math.max(partition.logStartOffset, partition.highWatermark);
  dropAbortedBefore(env, partition.id, partition.logStartOffset);
  // The high watermark, not nextOffset: a commit still in flight may yet fail. Recovery takes the
  // larger of this and the last stored batch, so a later commit's own record is never lost.
  const last = env.partitions.put(partition.id, {
    topic: partition.topic,
    partition: partition.partition,
    nextOffset: partition.highWatermark,
    logStartOffset: partition.logStartOffset,
  });
  return durable(last);
}
