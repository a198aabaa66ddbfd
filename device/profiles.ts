/**
 * Board profiles: memory-bound defaults for the boards Weir is made for. A profile only fills in
 * settings left at `auto`; anything the operator sets wins.
 *
 * The write queue is the one buffer that grows with traffic (records waiting for the next group
 * commit, while the previous commit flushes). On a 512 MB Pi Zero 2 W it must stay small; a
 * Pi 4/5 can afford Weir's general defaults. `memoryMax` is what the systemd unit's MemoryMax=
 * should be on that board (the shipped unit says 256M, the generic figure), and `memoryHighBytes`
 * its MemoryHigh= (192M in the shipped unit; three quarters of MemoryMax), which the memory guard
 * steers by when it cannot read the unit's own (`device.memory_high_bytes: auto`).
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

export interface BoardProfile {
  name: string;
  description: string;
  writeQueueMaxRecords: number;
  writeQueueMaxBytes: number;
  /** The log cleaner's dedupe buffer (`store.compaction_buffer_bytes: auto`), held while compacted topics exist. */
  compactionBufferBytes: number;
  /** Suggested systemd MemoryMax= for the unit. */
  memoryMax: string;
  /** Suggested systemd MemoryHigh= for the unit, in bytes. */
  memoryHighBytes: number;
}

const MiB = 1024 * 1024;

export const PROFILES = {
  'pi-zero-2w': {
    name: 'pi-zero-2w',
    description: 'Raspberry Pi Zero 2 W (512 MB)',
    writeQueueMaxRecords: 20_000,
    writeQueueMaxBytes: 8 * MiB,
    compactionBufferBytes: 4 * MiB,
    memoryMax: '160M',
    memoryHighBytes: 120 * MiB,
  },
  'pi-4': { name: 'pi-4', description: 'Raspberry Pi 4 (1-8 GB)', writeQueueMaxRecords: 100_000, writeQueueMaxBytes: 64 * MiB, compactionBufferBytes: 16 * MiB, memoryMax: '256M', memoryHighBytes: 192 * MiB },
  'pi-5': { name: 'pi-5', description: 'Raspberry Pi 5 (2-16 GB)', writeQueueMaxRecords: 100_000, writeQueueMaxBytes: 64 * MiB, compactionBufferBytes: 16 * MiB, memoryMax: '256M', memoryHighBytes: 192 * MiB },
  generic: { name: 'generic', description: 'any other machine with 1 GB or more', writeQueueMaxRecords: 100_000, writeQueueMaxBytes: 64 * MiB, compactionBufferBytes: 16 * MiB, memoryMax: '256M', memoryHighBytes: 192 * MiB },
  small: { name: 'small', description: 'any other machine with less than 1 GB', writeQueueMaxRecords: 20_000, writeQueueMaxBytes: 8 * MiB, compactionBufferBytes: 4 * MiB, memoryMax: '160M', memoryHighBytes: 120 * MiB },
} as const satisfies Record<string, BoardProfile>;

export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

/** The board's model string from the device tree ("Raspberry Pi 4 Model B Rev 1.4"), if any. */
export function boardModel(): string | undefined {
  try {
    return readFileSync('/proc/device-tree/model', 'utf8').replace(/\0/g, '').trim();
  } catch {
    return undefined;
  }
}

/** Picks a profile from the board model, else from the memory size. */
export function detectProfile(model = boardModel(), memoryBytes = totalmem()): BoardProfile {
  if (model !== undefined) {
    if (/Raspberry Pi Zero 2/i.test(model)) return PROFILES['pi-zero-2w'];
    if (/Raspberry Pi 5/i.test(model)) return PROFILES['pi-5'];
    if (/Raspberry Pi 4|Raspberry Pi Compute Module 4/i.test(model)) return PROFILES['pi-4'];
  }
  return memoryBytes < 1024 * MiB ? PROFILES.small : PROFILES.generic;
}

export function resolveProfile(name: ProfileName | 'auto'): BoardProfile {
  return name === 'auto' ? detectProfile() : PROFILES[name];
}

/**
 * MemoryHigh= of the cgroup Weir runs in (cgroup v2: the `0::` line of /proc/self/cgroup names it
 * under /sys/fs/cgroup), or undefined when there is none ("max", cgroup v1, not Linux).
 */
export function cgroupMemoryHigh(read: (file: string) => string = (file) => readFileSync(file, 'utf8')): number | undefined {
  try {
    const own = /^0::(.*)$/m.exec(read('/proc/self/cgroup'))?.[1];
    if (own === undefined) return undefined;
    const value = read(`/sys/fs/cgroup${own === '/' ? '' : own}/memory.high`).trim();
    return /^\d+$/.test(value) ? Number(value) : undefined;
  } catch {
    return undefined;
  }
}

/** `device.memory_high_bytes`: a size as set, or for `auto` the cgroup's MemoryHigh=, else the profile's. */
export function resolveMemoryHigh(setting: number | 'auto', profile: BoardProfile, fromCgroup: () => number | undefined = cgroupMemoryHigh): number {
  if (setting !== 'auto') return setting;
  return fromCgroup() ?? profile.memoryHighBytes;
}
