/**
 * Bytes this process made the kernel write to storage, from /proc/self/io `write_bytes` (what
 * reaches the block layer: LMDB pages and fsyncs, not just what Weir asked to write). Divided by
 * the payload bytes appended, it is the write amplification that wears out an SD card.
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
