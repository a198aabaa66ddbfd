/**
 * One writer per data directory. LMDB itself allows several processes, but offsets are assigned
 * in this process's memory, so a second writer would hand out the same offsets twice. The lock
 * is a pid file created with O_EXCL; a lock left by a process that no longer exists (SIGKILL,
 * power cut) is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { WeirError } from '../errors.js';

const LOCK_FILE = 'weir.lock';

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface DirLock {
  release(): void;
}

export function lockDataDir(dir: string): DirLock {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return {
        release() {
          try {
            if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
          } catch {
            // Already gone: nothing to release.
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      if (Number.isInteger(holder) && holder !== process.pid && processExists(holder)) {
        throw new WeirError(
          'STORE_LOCKED',
          `the data directory ${dir} is in use by another Weir process (pid ${holder}); stop it first, or talk to it over its listeners`,
          { details: { dir, pid: holder } },
        );
      }
      // Stale lock from a process that is gone: remove it and try once more.
      unlinkSync(path);
    }
  }
  throw new WeirError('STORE_LOCKED', `could not lock the data directory ${dir}`, { details: { dir } });
}
