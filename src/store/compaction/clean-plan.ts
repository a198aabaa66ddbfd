/**
 * Which part of a partition the log cleaner may compact now, how dirty it is, and whether it is
 * due: pure planning over the in-memory segment list (tested on its own), Kafka's
 * `LogCleanerManager` rules.
 *
 * - The clean range is the closed segments from the log start up to, not including, the first
 *   one that is active, not yet wholly durable (past the high watermark), holds an offset at or
 *   past the last stable offset, or is younger than `min.compaction.lag.ms` (by its newest
 *   record's timestamp). The active segment is never compacted, as in Kafka. Nor is an open
 *   transaction's record, nor anything after it (Kafka's `firstUnstableOffset` bound, KIP-98):
 *   it may yet be aborted, so it can neither replace a key's value nor be replaced.
 * - Records below the checkpoint (the first dirty offset) have been compacted; the rest of the
 *   clean range is dirty. Dirty ratio = dirty bytes / (clean + dirty bytes) over the clean range
 *   (a segment the checkpoint falls inside counts as dirty).
 * - A partition is due when its dirty ratio reaches `min.cleanable.dirty.ratio`, when its oldest
 *   dirty segment in the clean range was rolled more than `max.compaction.lag.ms` ago (KIP-354),
 *   or when a compacted segment holds tombstones whose `delete.retention.ms` has passed (they go
 *   only when a pass rewrites their segment).
 */
import type { SegmentMeta } from '../lmdb-env.js';
import type { TopicConfig } from '../topic-config.js';

export type CleanPlanConfig = Pick<TopicConfig, 'min.cleanable.dirty.ratio' | 'min.compaction.lag.ms' | 'max.compaction.lag.ms' | 'delete.retention.ms'>;

export interface CleanPlanInput {
  segments: readonly SegmentMeta[];
  highWatermark: number;
  /** The last stable offset (KIP-98): the first offset of the oldest open transaction, else the high watermark. */
  lastStableOffset: number;
  logStartOffset: number;
  /** The cleaner's checkpoint: every record below it has been compacted. */
  firstDirtyOffset: number;
  config: CleanPlanConfig;
  now: number;
}

export interface CleanPlan {
  /** First dirty offset, never below the log start. */
  firstDirty: number;
  /** One past the last offset the cleaner may touch (the end of the clean range). */
  cleanEnd: number;
  cleanBytes: number;
  dirtyBytes: number;
  dirtyRatio: number;
  /** Roll time of the oldest dirty segment in the clean range, null when none is dirty. */
  oldestDirtyRolledAt: number | null;
  /** A compacted segment holds tombstones past `delete.retention.ms`. */
  tombstonesExpired: boolean;
}

export function planCleaning(input: CleanPlanInput): CleanPlan {
  const { segments, config, now } = input;
  const firstDirty = Math.max(input.firstDirtyOffset, input.logStartOffset);
  const minLag = config['min.compaction.lag.ms'];
  let cleanEnd = input.logStartOffset;
  let cleanBytes = 0;
  let dirtyBytes = 0;
  let oldestDirtyRolledAt: number | null = null;
  let tombstonesExpired = false;
  const stableEnd = Math.min(input.highWatermark, input.lastStableOffset);
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i]!;
    if (segment.nextOffset > stableEnd) break;
    if (minLag > 0 && now - segment.maxTimestamp < minLag) break;
    cleanEnd = segment.nextOffset;
    if (segment.nextOffset <= firstDirty) {
      cleanBytes += segment.bytes;
    } else {
      dirtyBytes += segment.bytes;
      oldestDirtyRolledAt ??= segment.createdAt;
    }
    if (tombstonesPastHorizon(segment, config['delete.retention.ms'], now)) tombstonesExpired = true;
  }
  const total = cleanBytes + dirtyBytes;
  return { firstDirty, cleanEnd: Math.max(cleanEnd, input.logStartOffset), cleanBytes, dirtyBytes, dirtyRatio: total === 0 ? 0 : dirtyBytes / total, oldestDirtyRolledAt, tombstonesExpired };
}

/** Whether the partition should be compacted now (see the file comment). */
export function isDue(plan: CleanPlan, config: CleanPlanConfig, now: number): boolean {
  if (plan.tombstonesExpired) return true;
  if (plan.oldestDirtyRolledAt === null) return false;
  return plan.dirtyRatio >= config['min.cleanable.dirty.ratio'] || pastMaxLag(plan, config, now);
}

/** The oldest dirty record in the clean range has waited longer than `max.compaction.lag.ms`. */
export function pastMaxLag(plan: CleanPlan, config: CleanPlanConfig, now: number): boolean {
  return plan.oldestDirtyRolledAt !== null && now - plan.oldestDirtyRolledAt > config['max.compaction.lag.ms'];
}

/**
 * Tombstones are kept `delete.retention.ms` after their segment was first compacted (Kafka keeps
 * them that long after the cleaner first passes them, KIP-534), so a consumer that read the old
 * value and is behind still sees the deletion; strictly after, they may go.
 */
export function tombstonesPastHorizon(segment: SegmentMeta, deleteRetentionMs: number, now: number): boolean {
  return (segment.tombstones ?? 0) > 0 && tombstoneHorizonPassed(segment, deleteRetentionMs, now);
}

export function tombstoneHorizonPassed(segment: SegmentMeta, deleteRetentionMs: number, now: number): boolean {
  return segment.cleanedAt !== undefined && now - segment.cleanedAt > deleteRetentionMs;
}
