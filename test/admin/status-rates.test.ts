/** The status page's rates, computed by Weir from its own recent samples (src/admin/status-rates.ts). */
import { describe, expect, it, vi } from 'vitest';
import { StatusRates } from '../../src/admin/status-rates.js';
import type { StatusSnapshot } from '../../src/admin/status.js';

/** A snapshot with the counters the rates read: records appended, topics' log ends, one MQTT card. */
function snapshot(appended: number, topics: Record<string, number>, received: number): StatusSnapshot {
  return {
    version: 'test',
    now: 0,
    uptimeSeconds: 0,
    rateSeconds: null,
    ready: true,
    components: {},
    store: { usedBytes: 0, diskBudgetBytes: 1, headroomBytes: 1, queuedRecords: 0, recordsAppended: appended, appendedPerSecond: null, recordsDropped: 0, storageFailure: null },
    topics: Object.entries(topics).map(([name, logEndOffset]) => ({ name, partitions: 1, logEndOffset, recordsPerSecond: null, records: logEndOffset, sizeBytes: 0, overflowPolicy: 'block' })),
    groups: [],
    wear: null,
    sections: [
      {
        id: 'mqtt',
        title: 'MQTT clients',
        cards: [
          { id: 'clients', label: 'clients connected', value: 3 },
          { id: 'received', label: 'PUBLISH received', value: received, rate: 'msg/s' },
        ],
      },
    ],
  };
}

describe('StatusRates', () => {
  it('has no rate before an earlier sample, then the rate against the newest sample at least a second old', () => {
    let now = 0;
    let current = snapshot(0, { a: 0 }, 0);
    const rates = new StatusRates(() => structuredClone(current), () => now);

    const first = rates.snapshot();
    expect(first.rateSeconds).toBeNull();
    expect(first.store.appendedPerSecond).toBeNull();
    expect(first.topics[0]!.recordsPerSecond).toBeNull();
    expect(first.sections[0]!.cards![1]!.perSecond).toBeNull();
    expect(first.sections[0]!.cards![0]!.perSecond).toBeUndefined(); // not a rate card

    // Half a second later: too short an interval, still none (and no sample kept).
    now = 500;
    current = snapshot(5, { a: 5 }, 7);
    expect(rates.snapshot().store.appendedPerSecond).toBeNull();

    now = 2000;
    current = snapshot(40, { a: 30, b: 10 }, 50);
    const second = rates.snapshot();
    expect(second.rateSeconds).toBe(2);
    expect(second.store.appendedPerSecond).toBe(20);
    expect(second.topics.find((t) => t.name === 'a')!.recordsPerSecond).toBe(15);
    // Topic b was created after the sample: no rate yet rather than a guess.
    expect(second.topics.find((t) => t.name === 'b')!.recordsPerSecond).toBeNull();
    expect(second.sections[0]!.cards![1]!.perSecond).toBe(25);

    // 1.5 s later the baseline is the 2 s sample; topic a was deleted and created again (counter reset).
    now = 3500;
    current = snapshot(46, { a: 3, b: 16 }, 53);
    const third = rates.snapshot();
    expect(third.rateSeconds).toBe(1.5);
    expect(third.store.appendedPerSecond).toBe(4);
    expect(third.topics.find((t) => t.name === 'a')!.recordsPerSecond).toBe(2);
    expect(third.topics.find((t) => t.name === 'b')!.recordsPerSecond).toBe(4);
    expect(third.sections[0]!.cards![1]!.perSecond).toBe(2);
  });

  it('samples on a timer while nobody asks, and leaves out a tick when a request sampled lately', () => {
    vi.useFakeTimers();
    try {
      const start = Date.now();
      const appended = () => (Date.now() - start) / 100; // 10 records/s
      const rates = new StatusRates(() => snapshot(appended(), {}, 0), () => Date.now() - start);
      rates.start(); // samples at 0 s, then every 5 s while no request did within 2.5 s
      vi.advanceTimersByTime(10_000);
      // Ticks sampled at 5 s and 10 s: the first request is against the 5 s one, not the start.
      let s = rates.snapshot();
      expect(s.rateSeconds).toBe(5);
      expect(s.store.appendedPerSecond).toBe(10);

      vi.advanceTimersByTime(4_000);
      expect(rates.snapshot().rateSeconds).toBe(4); // at 14 s, against the 10 s tick
      // The 15 s tick skips (a request sampled 1 s before), so at 16.2 s the baseline is the 14 s request.
      vi.advanceTimersByTime(2_200);
      s = rates.snapshot();
      expect(s.rateSeconds).toBeCloseTo(2.2, 6);
      expect(s.store.appendedPerSecond).toBeCloseTo(10, 6);
      rates.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
