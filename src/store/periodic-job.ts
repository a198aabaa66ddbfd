/**
 * A housekeeping job (retention, log compaction) run on a timer and on demand, one run at a
 * time: asking while a run is under way joins it.
 */
import type { Logger } from '../logger.js';

export class PeriodicJob<T> {
  private running: Promise<T> | undefined;
  private readonly timer: NodeJS.Timeout | undefined;

  /** `intervalMs` 0: no timer (tests run the job themselves). */
  constructor(
    private readonly job: (now: number) => Promise<T>,
    intervalMs: number,
    private readonly isClosing: () => boolean,
    private readonly log: Logger,
    /** Names the job in the error log line: "<name> failed". */
    private readonly name: string,
  ) {
    if (intervalMs > 0) {
      this.timer = setInterval(() => this.request(), intervalMs);
      this.timer.unref();
    }
  }

  /** Starts a run unless one is under way or the store is closing. */
  request(): void {
    if (this.isClosing() || this.running !== undefined) return;
    this.run().catch((err: unknown) => this.log.error({ err }, `${this.name} failed`));
  }

  /** Runs the job now, or joins the run under way. */
  run(now = Date.now()): Promise<T> {
    if (this.running !== undefined) return this.running;
    this.running = this.job(now).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Resolves once no run is under way, however it ended. */
  async settled(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }
}
