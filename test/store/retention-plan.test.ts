import { describe, expect, it } from 'vitest';
import type { SegmentMeta } from '../../src/store/lmdb-env.js';
import type { PartitionState } from '../../src/store/partition.js';
import { planBudget, planRetention, type PartitionRetentionInput } from '../../src/store/retention.js';
import { kafkaTopicDefaults, type CleanupPolicy, type TopicConfig } from '../../src/store/topic-config.js';

const NOW = 10_000_000;
const HOUR = 3_600_000;

/** Three closed segments of 100 records and 1000 bytes, written 3, 2 and 1 hours ago, then the active one. */
function segments(): SegmentMeta[] {
  return [0, 1, 2, 3].map((i) => ({
    baseOffset: i * 100,
    nextOffset: (i + 1) * 100,
    bytes: 1000,
    createdAt: NOW - (3 - i) * HOUR,
    maxTimestamp: NOW - (3 - i) * HOUR,
  }));
}

function input(policy: CleanupPolicy, overrides: Partial<TopicConfig>, logStartOffset = 0): PartitionRetentionInput {
  return {
    segments: segments(),
    sizeBytes: 4000,
    highWatermark: 400,
    logStartOffset,
    config: { ...kafkaTopicDefaults(), 'cleanup.policy': policy, ...overrides },
    minCursor: Infinity,
    now: NOW,
  };
}

const reasons = (i: PartitionRetentionInput) => planRetention(i).map((d) => [d.segment.baseOffset, d.reason]);

describe('retention by cleanup.policy', () => {
  it('delete: retention.ms and retention.bytes delete the oldest segments', () => {
    expect(reasons(input('delete', { 'retention.ms': 90 * 60_000 }))).toEqual([[0, 'retention.ms'], [100, 'retention.ms']]);
    expect(reasons(input('delete', { 'retention.bytes': 2000 }))).toEqual([[0, 'retention.bytes'], [100, 'retention.bytes']]);
  });

  it('compact: retention.ms and retention.bytes delete nothing, as in Kafka', () => {
    expect(reasons(input('compact', { 'retention.ms': 1 }))).toEqual([]);
    expect(reasons(input('compact', { 'retention.bytes': 0 }))).toEqual([]);
  });

  it('compact: segments below the log start offset (DeleteRecords, the budget) still go', () => {
    expect(reasons(input('compact', { 'retention.ms': 1 }, 200))).toEqual([[0, 'log-start-offset'], [100, 'log-start-offset']]);
  });

  it('compact,delete applies both: time and size retention delete as with delete', () => {
    expect(reasons(input('compact,delete', { 'retention.ms': 90 * 60_000 }))).toEqual([[0, 'retention.ms'], [100, 'retention.ms']]);
    expect(reasons(input('compact,delete', { 'retention.bytes': 3000 }))).toEqual([[0, 'retention.bytes']]);
  });

  it('the disk budget drops the oldest segments of a drop-oldest topic whatever its cleanup.policy', () => {
    const partition = { segments: segments(), highWatermark: 400, logStartOffset: 0 } as unknown as PartitionState;
    const config = { ...kafkaTopicDefaults(), 'cleanup.policy': 'compact' as const, 'weir.overflow.policy': 'drop-oldest' as const };
    const plan = planBudget([{ partition, config, minCursor: Infinity }], 1500);
    expect(plan.get(partition)?.map((d) => [d.segment.baseOffset, d.reason])).toEqual([[0, 'disk-budget'], [100, 'disk-budget']]);
  });
});
