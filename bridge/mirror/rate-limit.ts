/** `max_bytes_per_second` of a mirror rule: a token bucket over record bytes (before compression). */
import { sleep } from './waiting.js';

export class ByteRateLimit {
  private tokens = 0;
  private tokensAt = Date.now();

  /** `rate` in bytes per second; 0 or less: no limit. One second of burst. */
  constructor(private readonly rate: number) {}

  /** Takes `bytes` from the bucket, waiting (until `signal`) while it is in debt. */
  async throttle(bytes: number, signal: AbortSignal): Promise<void> {
    const rate = this.rate;
    if (rate <= 0 || bytes === 0) return;
    const now = Date.now();
    this.tokens = Math.min(rate, this.tokens + ((now - this.tokensAt) * rate) / 1000) - bytes;
    this.tokensAt = now;
    if (this.tokens < 0) await sleep(Math.ceil((-this.tokens / rate) * 1000), signal);
  }
}
