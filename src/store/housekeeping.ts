/**
 * One housekeeping job at a time on a store: a retention run, one chunk of a compaction pass, the
 * reload after a failed commit. Each of them rewrites segment rows and the in-memory segment list
 * of the partitions it touches, so two at once could each act on a segment the other just deleted
 * or resized. Appends never take this lock: the jobs stay off the write path.
 */
export class HousekeepingLock {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `job` once every job queued before it has settled; its result or error is passed on. */
  run<T>(job: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(job);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
