/**
 * How the mirror waits: backoff between attempts, sleeps a stop cuts short, and a stop signal as a
 * promise race against work that cannot be cancelled. Every wait removes its 'abort'
 * listener when it settles.
 */

/** Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): uniform in [base/2, min(max, base·2^n)]. */
export function backoffMs(attempt: number, minMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/**
 * Settles with `work`'s result, or 'aborted' when the signal fires first (at once if it already
 * has). Its 'abort' listener is removed as soon as either happens: the signal is long-lived and
 * shared, and a listener left behind per call would pile up on it (MaxListenersExceededWarning).
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T | 'aborted'> {
  if (signal.aborted) return Promise.resolve('aborted');
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Resolves after `ms`, or at once when the signal fires; never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
