import { afterEach, describe, expect, it, vi } from 'vitest';
import { bytesPerDay, yearsToEndurance } from '../../src/admin/flash-wear.js';
import { WearWindow } from '../../src/admin/wear-window.js';

const MINUTE = 60_000;

/** A wear window on a clock and counters the test moves by hand. */
function fixture() {
  const state = { now: 0, written: 0, payload: 0 };
  const window = new WearWindow(() => state.written, () => state.payload, () => state.now);
  /** Advances `minutes` minutes at `bytesPerSecond` written and `payloadPerSecond` appended, sampling each minute. */
  const run = (minutes: number, bytesPerSecond: number, payloadPerSecond = 0) => {
    for (let i = 0; i < minutes; i++) {
      state.now += MINUTE;
      state.written += bytesPerSecond * 60;
      state.payload += payloadPerSecond * 60;
      window.sample();
    }
  };
  return { state, window, run };
}

describe('wear window', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('gives the rate since start until an hour has passed', () => {
    const { state, window, run } = fixture();
    expect(window.figures()).toEqual({ writeBytes: 0, payloadBytes: 0, windowSeconds: 0, writeBytesPerSecond: 0, windowBytesPerPayloadByte: null });
    run(10, 1000, 100);
    state.now += 30_000; // between samples: the live counters against the first sample
    state.written += 30_000 * 4;
    expect(window.figures()).toEqual({
      writeBytes: 600_000 + 120_000,
      payloadBytes: 60_000,
      windowSeconds: 630,
      writeBytesPerSecond: 720_000 / 630,
      windowBytesPerPayloadByte: 12,
    });
  });

  it('keeps 60 one-minute samples: after an hour, older writes no longer count', () => {
    const { window, run } = fixture();
    run(60, 50_000, 1000); // a busy first hour
    run(60, 1000, 100); // then a quiet one
    const f = window.figures()!;
    // The oldest sample kept is 59 minutes old, all of them quiet.
    expect(f.windowSeconds).toBe(59 * 60);
    expect(f.writeBytesPerSecond).toBe(1000);
    expect(f.windowBytesPerPayloadByte).toBe(10);
    expect(f.writeBytes).toBe(60 * 60 * (50_000 + 1000));
  });

  it('is undefined where write_bytes cannot be read, and leaves out samples it cannot take', () => {
    let readable = false;
    let now = 0;
    let written = 0;
    const window = new WearWindow(() => (readable ? written : undefined), () => 0, () => now);
    expect(window.figures()).toBeUndefined();
    now = MINUTE;
    window.sample();
    readable = true;
    expect(window.figures()).toBeUndefined(); // no sample yet to measure from
    window.sample();
    now = 3 * MINUTE;
    written = 240_000;
    expect(window.figures()).toMatchObject({ windowSeconds: 120, writeBytesPerSecond: 2000 });
  });

  it('samples once a minute from start() until stop()', () => {
    vi.useFakeTimers({ now: 0 });
    let written = 0;
    const window = new WearWindow(() => written, () => 0);
    window.start();
    // 1 kB/s for an hour, then 2 kB/s for 30 minutes.
    for (let minute = 1; minute <= 90; minute++) {
      written += (minute <= 60 ? 1000 : 2000) * 60;
      vi.advanceTimersByTime(MINUTE);
    }
    // Samples at minutes 31 to 90 are kept: 29 quiet minutes and 30 busy ones.
    expect(window.figures()).toMatchObject({ windowSeconds: 59 * 60, writeBytesPerSecond: (29 * 1000 + 30 * 2000) / 59 });
    window.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('endurance projection', () => {
  it('turns a write rate into bytes a day and years until the rated terabytes are written', () => {
    expect(bytesPerDay(50_000)).toBe(4.32e9);
    // 2 TB at 50 kB/s: 40 million seconds, 1.27 years.
    expect(yearsToEndurance(50_000, 2)).toBeCloseTo(2e12 / 50_000 / (365.25 * 86_400), 10);
    expect(yearsToEndurance(0, 2)).toBe(Number.POSITIVE_INFINITY);
  });
});
