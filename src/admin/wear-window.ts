/**
 * The recent rate at which Weir writes to storage: a capped ring of samples (one a minute, the
 * last 60) of the bytes written (/proc/self/io `write_bytes`) and the payload bytes appended,
 * taken by an unref'd timer. Compared with the live counters, the oldest sample gives the rate
 * over the last hour once Weir has run that long, over its whole run before that. Metrics, the
 * status page and `weir doctor` (through `/api/status`) read it; it keeps nothing else.
 */

export interface WearFigures {
  /** Bytes written to storage since the process started. */
  writeBytes: number;
  /** Payload bytes appended since the store opened. */
  payloadBytes: number;
  /** Seconds between the oldest sample kept and now: what the two figures below cover. */
  windowSeconds: number;
  /** Bytes written to storage per second over the window (0 while the window is empty). */
  writeBytesPerSecond: number;
  /** Bytes written per payload byte appended over the window; null when none was appended. */
  windowBytesPerPayloadByte: number | null;
}

const SAMPLE_INTERVAL_MS = 60_000;
/** Samples kept: the window spans at most an hour. */
const SAMPLES = 60;

interface Sample {
  at: number;
  writeBytes: number;
  payloadBytes: number;
}

export class WearWindow {
  private readonly ring: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;

  /**
   * Takes the first sample at once. `readWriteBytes` gives undefined where it cannot tell (no
   * /proc); `now` is milliseconds since the epoch (tests pass their own clock).
   */
  constructor(
    private readonly readWriteBytes: () => number | undefined,
    private readonly readPayloadBytes: () => number,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.sample();
  }

  /** Samples once a minute until stop(); the timer never keeps the process alive. */
  start(): void {
    this.timer ??= setInterval(() => this.sample(), SAMPLE_INTERVAL_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Adds a sample, dropping the oldest beyond the cap. */
  sample(): void {
    const writeBytes = this.readWriteBytes();
    if (writeBytes === undefined) return;
    this.ring.push({ at: this.now(), writeBytes, payloadBytes: this.readPayloadBytes() });
    if (this.ring.length > SAMPLES) this.ring.shift();
  }

  /** The counters now and the rate over the window; undefined where write_bytes cannot be read. */
  figures(): WearFigures | undefined {
    const writeBytes = this.readWriteBytes();
    const oldest = this.ring[0];
    if (writeBytes === undefined || oldest === undefined) return undefined;
    const payloadBytes = this.readPayloadBytes();
    const windowSeconds = Math.max(0, (this.now() - oldest.at) / 1000);
    const written = writeBytes - oldest.writeBytes;
    const appended = payloadBytes - oldest.payloadBytes;
    return {
      writeBytes,
      payloadBytes,
      windowSeconds,
      writeBytesPerSecond: windowSeconds > 0 ? written / windowSeconds : 0,
      windowBytesPerPayloadByte: appended > 0 ? written / appended : null,
    };
  }
}
