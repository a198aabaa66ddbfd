/** Injects one failed group commit into a real store, without mocking LMDB. */
import type { CommitPromise } from '../../src/store/lmdb-env.js';

type Batching = { batch(build: () => void): Promise<boolean> };

/** The next transaction issued through the store's batch database commits, but its flush reports EIO. */
export function failNextFlush(store: unknown): void {
  const db = (store as { env: { batches: Batching } }).env.batches;
  const original = db.batch;
  db.batch = function (this: Batching, build: () => void) {
    db.batch = original;
    const write = original.call(this, build) as CommitPromise;
    const failed = write.then(() => {
      throw Object.assign(new Error('EIO: i/o error, fdatasync (injected)'), { code: 'EIO' });
    });
    failed.catch(() => undefined);
    return Object.assign(failed, { flushed: failed });
  };
}
