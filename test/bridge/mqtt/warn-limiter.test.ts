/** The warning rate limiter: one line per interval, with how many were not logged. */
import { describe, expect, it } from 'vitest';
import { WarnLimiter } from '../../../bridge/mqtt/warn-limiter.js';

function limiter(intervalMs: number): { limiter: WarnLimiter; lines: [Record<string, unknown>, string][]; clock: { t: number } } {
  const lines: [Record<string, unknown>, string][] = [];
  const clock = { t: 1_000_000 };
  const log = { warn: (fields: Record<string, unknown>, message: string) => lines.push([fields, message]) };
  return { limiter: new WarnLimiter(log as never, intervalMs, () => clock.t), lines, clock };
}

describe('WarnLimiter', () => {
  it('logs the first warning at once, counts the rest of the interval, and reports the count on the next line', () => {
    const { limiter: w, lines, clock } = limiter(10_000);
    w.warn({ n: 0 }, 'cap reached');
    expect(lines).toEqual([[{ n: 0 }, 'cap reached']]);
    for (let i = 1; i <= 100_000; i++) {
      clock.t += 0.05; // 100k warnings within 5 s
      w.warn({ n: i }, 'cap reached');
    }
    expect(lines).toHaveLength(1);
    clock.t += 5_000; // the interval is over
    w.warn({ n: 100_001 }, 'cap reached');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toEqual([{ n: 100_001, suppressed: 100_000 }, 'cap reached (100000 more like it not logged in the last 10 s)']);
  });

  it('logs every warning when they are further apart than the interval', () => {
    const { limiter: w, lines, clock } = limiter(1_000);
    for (let i = 0; i < 5; i++) {
      w.warn({}, 'x');
      clock.t += 1_000;
    }
    expect(lines.map(([fields]) => fields)).toEqual([{}, {}, {}, {}, {}]);
  });

  it('starts a new interval at each logged line, not at each warning', () => {
    const { limiter: w, lines, clock } = limiter(1_000);
    w.warn({}, 'x'); // t = 0: logged
    clock.t += 600;
    w.warn({}, 'x'); // 600: counted
    clock.t += 600;
    w.warn({}, 'x'); // 1200: logged with 1 suppressed; the next interval runs to 2200
    clock.t += 900;
    w.warn({}, 'x'); // 2100: counted
    expect(lines.map(([fields]) => fields)).toEqual([{}, { suppressed: 1 }]);
  });

  it('tells a hot caller when a warning would only be counted, and counts it for the next line', () => {
    const { limiter: w, lines, clock } = limiter(1_000);
    expect(w.quiet).toBe(false);
    w.warn({}, 'x');
    clock.t += 500;
    expect(w.quiet).toBe(true);
    w.countSuppressed();
    w.countSuppressed(255);
    clock.t += 500;
    expect(w.quiet).toBe(false);
    w.warn({}, 'x');
    expect(lines.map(([fields]) => fields)).toEqual([{}, { suppressed: 256 }]);
  });
});
