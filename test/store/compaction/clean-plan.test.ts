import { describe, expect, it } from 'vitest';
import { isDue, pastMaxLag, planCleaning, type CleanPlanConfig } from '../../../src/store/compaction/clean-plan.js';
import type { SegmentMeta } from '../../../src/store/lmdb-env.js';

const NOW = 1_000_000_000;
const config: CleanPlanConfig = {
  'min.cleanable.dirty.ratio': 0.5,
  'min.compaction.lag.ms': 0,
  'max.compaction.lag.ms': Number.MAX_SAFE_INTEGER,
  'delete.retention.ms': 1000,
};

/** Segments of 10 offsets and 100 bytes, rolled a second apart, newest record when rolled. */
function segments(n: number, extra: Partial<SegmentMeta>[] = []): SegmentMeta[] {
  return Array.from({ length: n }, (_, i) => ({ baseOffset: i * 10, nextOffset: i * 10 + 10, bytes: 100, createdAt: NOW - (n - i) * 1000, maxTimestamp: NOW - (n - i) * 1000, ...extra[i] }));
}

const plan = (segs: SegmentMeta[], over: { firstDirtyOffset?: number; highWatermark?: number; lastStableOffset?: number; logStartOffset?: number; config?: Partial<CleanPlanConfig> } = {}) =>
  planCleaning({
    segments: segs,
    highWatermark: over.highWatermark ?? segs.at(-1)!.nextOffset,
    lastStableOffset: over.lastStableOffset ?? over.highWatermark ?? segs.at(-1)!.nextOffset,
    logStartOffset: over.logStartOffset ?? 0,
    firstDirtyOffset: over.firstDirtyOffset ?? 0,
    config: { ...config, ...over.config },
    now: NOW,
  });

describe('planning a cleaner pass', () => {
  it('covers the closed segments, never the active one, and counts bytes at or past the checkpoint as dirty', () => {
    expect(plan(segments(4))).toMatchObject({ firstDirty: 0, cleanEnd: 30, cleanBytes: 0, dirtyBytes: 300, dirtyRatio: 1, oldestDirtyRolledAt: NOW - 4000 });
    expect(plan(segments(4), { firstDirtyOffset: 20 })).toMatchObject({ cleanEnd: 30, cleanBytes: 200, dirtyBytes: 100, dirtyRatio: 1 / 3, oldestDirtyRolledAt: NOW - 2000 });
    // A checkpoint inside a segment (a pass whose map filled) leaves that segment dirty.
    expect(plan(segments(4), { firstDirtyOffset: 15 })).toMatchObject({ cleanBytes: 100, dirtyBytes: 200 });
    expect(plan(segments(4), { firstDirtyOffset: 30 })).toMatchObject({ dirtyBytes: 0, dirtyRatio: 0, oldestDirtyRolledAt: null });
    expect(plan(segments(1))).toMatchObject({ cleanEnd: 0, dirtyRatio: 0, oldestDirtyRolledAt: null });
  });

  it('stops at a segment not yet durable and at one younger than min.compaction.lag.ms', () => {
    expect(plan(segments(4), { highWatermark: 25 }).cleanEnd).toBe(20);
    // Segment i's newest record is (4 - i) s old: a 2.5 s lag leaves the first two.
    expect(plan(segments(4), { config: { 'min.compaction.lag.ms': 2500 } }).cleanEnd).toBe(20);
    expect(plan(segments(4), { config: { 'min.compaction.lag.ms': 10_000 } }).cleanEnd).toBe(0);
  });

  it('stops at the segment holding the last stable offset: an open transaction and what follows it stay dirty (KIP-98)', () => {
    // A transaction open since offset 15: the segment [10, 20) holds it, so only [0, 10) is cleanable.
    expect(plan(segments(4), { lastStableOffset: 15 })).toMatchObject({ cleanEnd: 10, dirtyBytes: 100 });
    // A segment ending exactly at the last stable offset holds none of the transaction.
    expect(plan(segments(4), { lastStableOffset: 20 }).cleanEnd).toBe(20);
    expect(plan(segments(4), { lastStableOffset: 0 })).toMatchObject({ cleanEnd: 0, dirtyRatio: 0, oldestDirtyRolledAt: null });
  });

  it('never puts the first dirty offset below the log start', () => {
    expect(plan(segments(4).slice(2), { logStartOffset: 20 })).toMatchObject({ firstDirty: 20, cleanEnd: 30, dirtyBytes: 100 });
  });

  it('is due at min.cleanable.dirty.ratio, past max.compaction.lag.ms, or with tombstones past their horizon', () => {
    const half = plan(segments(5), { firstDirtyOffset: 20 });
    expect(half.dirtyRatio).toBe(0.5);
    expect(isDue(half, config, NOW)).toBe(true);
    const quarter = plan(segments(5), { firstDirtyOffset: 30 });
    expect(isDue(quarter, config, NOW)).toBe(false);
    // The oldest dirty segment (offset 30) was rolled 2 s ago.
    expect(pastMaxLag(quarter, { ...config, 'max.compaction.lag.ms': 1999 }, NOW)).toBe(true);
    expect(isDue(quarter, { ...config, 'max.compaction.lag.ms': 1999 }, NOW)).toBe(true);
    expect(isDue(quarter, { ...config, 'max.compaction.lag.ms': 2000 }, NOW)).toBe(false);

    const cleaned = (cleanedAt: number, tombstones: number) => segments(5, [{ cleanedAt, tombstones }]);
    const clean = { firstDirtyOffset: 40 };
    expect(isDue(plan(cleaned(NOW - 1001, 2), clean), config, NOW)).toBe(true);
    expect(isDue(plan(cleaned(NOW - 1000, 2), clean), config, NOW)).toBe(false);
    expect(isDue(plan(cleaned(NOW - 5000, 0), clean), config, NOW)).toBe(false);
  });
});
