/**
 * Board profiles: memory-bound defaults for the boards Weir is made for. A profile only fills in
 * settings left at `auto`; anything the operator sets wins.
 *
 * The write queue is the one buffer that grows with traffic (records waiting for the next group
 * commit, while the previous commit flushes). On a 512 MB Pi Zero 2 W it must stay small; a
 * Pi 4/5 can afford Weir's general defaults. `memoryMax` is what the systemd unit's MemoryMax=
 * should be on that board (the shipped unit says 256M, the generic figure).
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

export interface BoardProfile {
  name: string;
  description: string;
  writeQueueMaxRecords: number;
  writeQueueMaxBytes: number;
  /** Suggested systemd MemoryMax= for the unit. */
  memoryMax: string;
}

const MiB = 1024 * 1024;

export const PROFILES = {
  'pi-zero-2w': {
    name: 'pi-zero-2w',
    description: 'Raspberry Pi Zero 2 W (512 MB)',
    writeQueueMaxRecords: 20_000,
    writeQueueMaxBytes: 8 * MiB,
    memoryMax: '160M',
  },
  'pi-4': { name: 'pi-4', description: 'Raspberry Pi 4 (1-8 GB)', writeQueueMaxRecords: 100_000, writeQueueMaxBytes: 64 * MiB, memoryMax: '256M' },
  'pi-5': { name: 'pi-5', description: 'Raspberry Pi 5 (2-16 GB)', writeQueueMaxRecords: 100_000, writeQueueMaxBytes: 64 * MiB, memoryMax: '256M' },
  generic: { name: 'generic', description: 'any other machine with 1 GB or more', writeQueueMaxRecords: 100_000, writeQueueMaxBytes: 64 * MiB, memoryMax: '256M' },
  small: { name: 'small', description: 'any other machine with less than 1 GB', writeQueueMaxRecords: 20_000, writeQueueMaxBytes: 8 * MiB, memoryMax: '160M' },
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
