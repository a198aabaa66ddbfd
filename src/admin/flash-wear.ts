/**
 * Bytes this process made the kernel write to storage, from /proc/self/io `write_bytes` (what
 * reaches the block layer: LMDB pages and fsyncs, not just what Weir asked to write). Divided by
 * the payload bytes appended, it is the write amplification that wears out an SD card; against
 * the card's rated endurance (`device.flash_endurance_tbw`), a write rate is years of life.
 */
import { readFileSync } from 'node:fs';

export function processWriteBytes(): number | undefined {
  try {
    const io = readFileSync('/proc/self/io', 'utf8');
    const match = /^write_bytes:\s+(\d+)$/m.exec(io);
    return match === null ? undefined : Number(match[1]);
  } catch {
    // Not Linux, or /proc hidden (ProtectProc=invisible still shows a process its own entry).
    return undefined;
  }
}

/** Fewer years than this to the rated endurance is worth a warning (status page, `weir doctor`). */
export const ENDURANCE_WARN_YEARS = 5;

const SECONDS_PER_DAY = 86_400;
const SECONDS_PER_YEAR = 365.25 * SECONDS_PER_DAY;
/** Endurance ratings are decimal terabytes. */
const TB = 1e12;

export function bytesPerDay(bytesPerSecond: number): number {
  return bytesPerSecond * SECONDS_PER_DAY;
}

/** Years until `enduranceTbw` terabytes are written at this rate; Infinity when nothing is written. */
export function yearsToEndurance(bytesPerSecond: number, enduranceTbw: number): number {
  return bytesPerSecond > 0 ? (enduranceTbw * TB) / (bytesPerSecond * SECONDS_PER_YEAR) : Number.POSITIVE_INFINITY;
}
