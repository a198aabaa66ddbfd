/**
 * After a commit fails for want of space (ENOSPC) or with an I/O error, LMDB answers every later
 * write transaction of this environment with EIO (lmdb-js 3.5; even closing it fails), while what
 * was committed before stays intact and readable. The store therefore refuses appends at once,
 * retriably, says what to do, and exposes the failure for health checks (/healthz, /readyz, the
 * status page); a restart after freeing space resumes writing (the next start derives an `auto`
 * budget from the space actually free). A failure that is not a full filesystem may have been
 * transient: see `retry`.
 */
import { statfsSync } from 'node:fs';
import { WeirError } from '../errors.js';
import type { Logger } from '../logger.js';
import { durable, isNoSpace, type LmdbEnv } from './lmdb-env.js';

/** Free space below which a failed write is put down to a full filesystem (see filesystemFull). */
const FULL_BELOW_BYTES = 1024 * 1024;

export interface StorageFailureContext {
  env: LmdbEnv;
  dir: string;
  log: Logger;
  /** For the log line: the log bytes stored when the failure was noted. */
  usedBytes(): number;
  /** The failure was noted: appends waiting for room must now fail. */
  onNoted(): void;
}

export class StorageFailure {
  /** Set once LMDB refused a write (disk full, I/O error): what happened and what to do. */
  reason: string | undefined;
  /** Classifying the first failed commit since the store last wrote. */
  private noted: Promise<{ noSpace: boolean }> | undefined;

  constructor(private readonly ctx: StorageFailureContext) {}

  /** A commit failed with `cause`. The first failure is the cause; those behind it fail because it did. */
  commitFailed(cause: unknown): void {
    this.noted ??= this.note(cause);
  }

  /** Refuses a write while the failure lasts (STORAGE_ERROR, retriable). */
  assertWritable(): void {
    if (this.reason !== undefined) {
      throw new WeirError('STORAGE_ERROR', `the store cannot write: ${this.reason}`, { details: { dir: this.ctx.dir } });
    }
  }

  private async note(cause: unknown): Promise<{ noSpace: boolean }> {
    const { dir, log } = this.ctx;
    const noSpace = (await isNoSpace(cause)) || filesystemFull(dir);
    this.reason = noSpace
      ? `the filesystem holding ${dir} is full; free space on it, then restart Weir`
      : `LMDB failed to write to ${dir} (${String(cause)}); check the device, then restart Weir`;
    log.fatal({ dir, noSpace, usedBytes: this.ctx.usedBytes() }, `storage failure: ${this.reason}`);
    this.ctx.onNoted();
    return { noSpace };
  }

  /**
   * Once the committer has recovered from a failed commit (offsets reloaded from disk), one small
   * write tells a transient failure from a broken environment: if it commits and flushes, the
   * failure is cleared and appends resume; if not, the store keeps refusing them until restart.
   * A full filesystem is not retried (lmdb-js refuses every later write in this process).
   */
  async retry(closing: () => boolean): Promise<void> {
    const noted = this.noted;
    if (noted === undefined) return;
    const { noSpace } = await noted;
    if (noSpace || closing()) return;
    const { env, dir, log } = this.ctx;
    try {
      await durable(env.meta.put('lastWriteRetryAt', Date.now()));
    } catch (err) {
      log.fatal({ err, dir }, `a write after the failed commit failed too: the store stays read-only until Weir restarts (${this.reason})`);
      return;
    }
    log.warn({ dir, failure: this.reason }, 'storage recovered: a write after the failed commit succeeded; appends resume');
    this.reason = undefined;
    this.noted = undefined;
  }
}

/**
 * LMDB reports a short write as EIO (mdb_page_flush), and a write of several pages to a filesystem
 * that runs out part-way is short, not ENOSPC: so a failure with the filesystem all but full is
 * taken for what it is.
 */
function filesystemFull(dir: string): boolean {
  try {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize < FULL_BELOW_BYTES;
  } catch {
    return false;
  }
}
