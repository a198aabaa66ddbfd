/**
 * Time as the group coordinator sees it. Session and rebalance timeouts are the coordinator's
 * whole notion of failure, so tests must be able to drive them without sleeping (a test that
 * sleeps is slow and flaky under load): production passes `systemClock`, tests a manual clock
 * they advance by hand.
 */

export interface Timer {
  /** Idempotent: cancelling a fired or cancelled timer does nothing. */
  cancel(): void;
}

export interface Clock {
  now(): number;
  /** Runs `fn` once after `delayMs`. */
  setTimer(delayMs: number, fn: () => void): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(delayMs, fn) {
    const handle = setTimeout(fn, delayMs);
    // A pending session timeout must not keep the process alive at shutdown.
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};
