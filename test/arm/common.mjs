/**
 * What the steps of `npm run test:arm` share: the run's clock and log, checks that fail the run,
 * and the x86 commands (kcat) that drive the emulated Weir.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const t0 = Date.now();
export const secs = (from = t0) => ((Date.now() - from) / 1000).toFixed(1);
export const log = (...a) => console.log(`[arm ${secs()}s]`, ...a);

export function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024, ...opts });
}

/** Rejects when `promise` has not settled within `ms`: a stalled Weir fails the job, it does not hang it. */
export function within(ms, promise, what) {
  let timer;
  const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`FAILED: ${what}: nothing within ${ms / 1000} s`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

export function check(ok, what) {
  if (!ok) throw new Error(`FAILED: ${what}`);
  log(`ok: ${what}`);
}

/** Every record of a topic from the beginning, as kcat prints it with `fmt`. */
export function kcatConsume(broker, topic, fmt, extra = []) {
  return sh('kcat', ['-b', broker, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', fmt, '-X', 'fetch.wait.max.ms=100', ...extra], { maxBuffer: 4 * 1024 * 1024 * 1024, timeout: 300_000 });
}
