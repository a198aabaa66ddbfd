/**
 * The rates on the status page, computed by Weir so a page shows them from its first sample: the
 * counters behind `/api/status` (records appended, each topic's log end, the components' rate
 * cards) are sampled on each request, at most once a second, and by an unref'd timer when no page
 * asks, so a page opened on a running Weir gets the rate over the last few seconds at once.
 * Each rate is against the newest sample at least a second old, on the monotonic clock (a Pi
 * without a real-time clock steps its wall clock at boot). A counter that sample lacks (a topic
 * created since, the first second after start) has no rate yet: null, never a made-up 0.
 */
import type { StatusSnapshot } from './status.js';

/** The shortest interval a rate covers: below it, one message more or less swings the figure. */
const MIN_INTERVAL_MS = 1000;
/** How often the timer samples by default; it skips a tick when a request sampled lately. */
const IDLE_SAMPLE_MS = 5000;

interface Sample {
  at: number;
  counters: Map<string, number>;
  /**
   * Each topic's log end, by the store's own name string: a data directory may hold tens of
   * thousands of topics, and a key made per topic per sample would cost a string each.
   */
  logEnds: Map<string, number>;
}

function counters(s: StatusSnapshot): Omit<Sample, 'at'> {
  const out = new Map<string, number>([['store\0appended', s.store.recordsAppended]]);
  for (const section of s.sections) {
    for (const c of section.cards ?? []) {
      if (c.rate !== undefined && typeof c.value === 'number') out.set(`card\0${section.id}\0${c.id}`, c.value);
    }
  }
  return { counters: out, logEnds: new Map(s.topics.map((t) => [t.name, t.logEndOffset])) };
}

export class StatusRates {
  /** Oldest first; at most the baseline of the next request and the samples after it. */
  private samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** `now` is monotonic milliseconds; tests pass their own clock and a shorter idle period. */
  constructor(
    private readonly read: () => StatusSnapshot,
    private readonly now: () => number = () => performance.now(),
    private readonly idleSampleMs = IDLE_SAMPLE_MS,
  ) {}

  /** Samples now and then every few seconds while nobody asks, until stop(). */
  start(): void {
    this.snapshot();
    this.timer ??= setInterval(() => {
      const newest = this.samples.at(-1);
      if (newest === undefined || this.now() - newest.at >= Math.max(MIN_INTERVAL_MS, this.idleSampleMs / 2)) this.snapshot();
    }, this.idleSampleMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The status with its rates filled in, per second over `rateSeconds`. */
  snapshot(): StatusSnapshot {
    const s = this.read();
    const at = this.now();
    const current = counters(s);
    const base = this.samples.findLast((x) => at - x.at >= MIN_INTERVAL_MS);
    const seconds = base === undefined ? 0 : (at - base.at) / 1000;
    const rate = (key: string, of: 'counters' | 'logEnds' = 'counters'): number | null => {
      const before = base?.[of].get(key);
      const value = current[of].get(key);
      // A counter that went down was reset (a topic deleted and created again): from zero.
      return before === undefined || value === undefined ? null : Math.max(0, value - (value < before ? 0 : before)) / seconds;
    };
    s.rateSeconds = base === undefined ? null : seconds;
    s.store.appendedPerSecond = rate('store\0appended');
    for (const t of s.topics) t.recordsPerSecond = rate(t.name, 'logEnds');
    for (const section of s.sections) {
      for (const c of section.cards ?? []) if (c.rate !== undefined) c.perSecond = rate(`card\0${section.id}\0${c.id}`);
    }
    const newest = this.samples.at(-1);
    if (newest === undefined || at - newest.at >= MIN_INTERVAL_MS) this.samples.push({ at, ...current });
    if (base !== undefined) this.samples = this.samples.slice(this.samples.indexOf(base));
    return s;
  }
}
