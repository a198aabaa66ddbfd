/**
 * The scratch device of `npm run bench:wear`: a 2 GiB sparse image in a temp dir, attached to a
 * free loop device, formatted ext4 with the inode tables and journal written at mkfs time
 * (`lazy_itable_init=0,lazy_journal_init=0`: otherwise ext4lazyinit keeps writing in the
 * background and pollutes the counts), and mounted on a temp dir.
 *
 * Device bytes are read from the loop device's own counters: field 7 of /sys/block/loopN/stat,
 * sectors written, in 512-byte units whatever the device's block size (Documentation/block/stat).
 *
 * Teardown is synchronous, so it can run from a signal handler or an 'exit' hook as well as from
 * a finally block; it is idempotent, and tries every step even when an earlier one failed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

export const IMAGE_BYTES = 2 * 1024 ** 3;

export interface ScratchDevice {
  /** e.g. /dev/loop3 */
  readonly device: string;
  /** Where the filesystem is mounted. */
  readonly mount: string;
  readonly mountOptions: string;
  /** Sectors written × 512, now. */
  bytesWritten(): number;
  /** Transactions the ext4 journal (jbd2) has committed since the mount, or null if unreadable. */
  journalTransactions(): number | null;
  /** syncfs(2) of the mounted filesystem (`sync -f`): every dirty page and the journal reach the device. */
  sync(): void;
  /** Unmount, detach, remove the temp dir. Safe to call more than once. */
  teardown(): void;
}

/** Why this machine cannot run the benchmark, or null if it can (root, loop devices, tools). */
export function cannotRun(): string | null {
  if (process.platform !== 'linux') return `needs Linux loop devices (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root: it attaches a loop device, formats it and mounts it (run it as root, e.g. in the CI VM)';
  if (!existsSync('/dev/loop-control')) return 'no /dev/loop-control: loop devices are unavailable here (container without them? try `modprobe loop`, or a VM)';
  for (const tool of ['losetup', 'mkfs.ext4', 'mount', 'umount', 'sync', 'truncate']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed (util-linux, e2fsprogs, coreutils)`;
    }
  }
  return null;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function sectorsWritten(device: string): number {
  const fields = readFileSync(`/sys/block/${basename(device)}/stat`, 'utf8').trim().split(/\s+/);
  const sectors = Number(fields[6]);
  if (!Number.isFinite(sectors)) throw new Error(`/sys/block/${basename(device)}/stat has no field 7: ${fields.join(' ')}`);
  return sectors;
}

/** Creates, formats and mounts the scratch device. Throws (after cleaning up what it made) if any step fails. */
export function createScratchDevice(mountOptions: string): ScratchDevice {
  const root = mkdtempSync(join(tmpdir(), 'weir-wear-'));
  const image = join(root, 'flash.img');
  const mount = join(root, 'mnt');
  let device: string | undefined;
  let mounted = false;
  let tornDown = false;

  const teardown = (): void => {
    if (tornDown) return;
    tornDown = true;
    const problems: string[] = [];
    if (mounted) {
      // A process just killed may still hold files open for a moment: retry, then detach lazily.
      let done = false;
      for (let i = 0; i < 30 && !done; i++) {
        try {
          run('umount', [mount]);
          done = true;
        } catch {
          sleepSync(100);
        }
      }
      if (!done) {
        try {
          run('umount', ['-l', mount]);
          problems.push(`${mount} was busy: unmounted lazily`);
        } catch (err) {
          problems.push(`umount ${mount} failed: ${(err as Error).message}`);
        }
      }
      mounted = false;
    }
    if (device !== undefined) {
      try {
        run('losetup', ['-d', device]);
      } catch (err) {
        problems.push(`losetup -d ${device} failed: ${(err as Error).message}`);
      }
    }
    try {
      rmSync(root, { recursive: true, force: true });
    } catch (err) {
      problems.push(`rm -rf ${root} failed: ${(err as Error).message}`);
    }
    for (const p of problems) process.stderr.write(`bench:wear cleanup: ${p}\n`);
  };

  try {
    writeFileSync(image, '');
    run('truncate', ['-s', String(IMAGE_BYTES), image]);
    device = run('losetup', ['-f', '--show', image]);
    if (!/^\/dev\/loop\d+$/.test(device)) throw new Error(`losetup gave "${device}"`);
    run('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', device]);
    mkdirSync(mount);
    run('mount', [...(mountOptions === '' ? [] : ['-o', mountOptions]), device, mount]);
    mounted = true;
  } catch (err) {
    teardown();
    throw err;
  }
  const dev = device;
  return {
    device: dev,
    mount,
    mountOptions,
    bytesWritten: () => sectorsWritten(dev) * 512,
    journalTransactions: () => {
      try {
        const m = /^(\d+) transactions/.exec(readFileSync(`/proc/fs/jbd2/${basename(dev)}-8/info`, 'utf8'));
        return m === null ? null : Number(m[1]);
      } catch {
        return null;
      }
    },
    sync: () => void run('sync', ['-f', mount]),
    teardown,
  };
}

/** `write_bytes` of /proc/<pid>/io (the whole process, every thread), or null if unreadable. */
export function processWriteBytes(pid: number): number | null {
  try {
    const m = /^write_bytes:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}
