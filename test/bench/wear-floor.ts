/**
 * The floor of `npm run bench:wear`: the least any durable log could write for a scenario's
 * traffic on this filesystem. A file preallocated by writing zeros and fsyncing (so no block is
 * allocated and no extent converted during the measurement) takes the same payload bytes per
 * commit, as many commits in as many seconds, as Weir showed in the scenario: each commit is one
 * pwrite of those bytes at the next position (sequential, like an append-only log) followed by
 * fdatasync. Nothing else: no index, no metadata, no framing.
 *
 * The JSON FloorSpec comes in the environment (WEAR_FLOOR). Prints `ready` once the file is
 * preallocated and flushed, waits for `go` on stdin, makes `commits` commits evenly spaced over
 * `seconds` (the first at once; it lasts `seconds` in all), and prints one JSON FloorResult line.
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface FloorSpec {
  file: string;
  bytesPerCommit: number;
  /** Commits to make, evenly spaced over `seconds` (the first at once). */
  commits: number;
  seconds: number;
  /** Size of the preallocated file; the writes wrap around within it. */
  fileBytes: number;
}

export interface FloorResult {
  commits: number;
  payloadBytes: number;
  seconds: number;
  /** /proc/self/io write_bytes over the run. */
  processWriteBytes: number | null;
  /** Largest single pwrite + fdatasync, ms. */
  maxCommitMs: number;
  /** Latest a commit started after it was due, ms: a floor that cannot keep its cadence says so here. */
  maxLateMs: number;
}

function writeBytes(): number | null {
  try {
    const m = /^write_bytes:\s+(\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

async function run(spec: FloorSpec): Promise<FloorResult> {
  const fd = openSync(spec.file, 'w');
  // 4 KiB at a time, so the page cache holds 4 KiB folios, as a log grown by small appends would.
  // (With large folios, ext4 since Linux 6.x, a 100-byte write into a file written in 1 MiB
  // chunks dirties a 1 MiB folio: write_bytes then counts 1 MiB, though only the dirty 4 KiB
  // block reaches the device.)
  const zeros = Buffer.alloc(4096);
  for (let at = 0; at < spec.fileBytes; at += zeros.length) writeSync(fd, zeros, 0, Math.min(zeros.length, spec.fileBytes - at), at);
  fsyncSync(fd);
  process.stdout.write('ready\n');
  const stdin = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => stdin.on('line', (l) => l === 'go' && resolve()));
  stdin.close();
  process.stdin.destroy();

  const payload = Buffer.alloc(spec.bytesPerCommit, 0x61);
  const io0 = writeBytes();
  const spacingMs = (spec.seconds * 1000) / spec.commits;
  let commits = 0;
  let position = 0;
  let maxCommitMs = 0;
  let maxLateMs = 0;
  const started = performance.now();
  const endAt = started + spec.seconds * 1000;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      const due = Math.min(spec.commits, Math.floor((now - started) / spacingMs) + 1);
      while (commits < due) {
        if (position + payload.length > spec.fileBytes) position = 0;
        const t0 = performance.now();
        maxLateMs = Math.max(maxLateMs, t0 - (started + commits * spacingMs));
        writeSync(fd, payload, 0, payload.length, position);
        fdatasyncSync(fd);
        maxCommitMs = Math.max(maxCommitMs, performance.now() - t0);
        position += payload.length;
        commits++;
      }
      if (commits >= spec.commits && now >= endAt) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  const seconds = (performance.now() - started) / 1000;
  const io1 = writeBytes();
  closeSync(fd);
  return {
    commits,
    payloadBytes: commits * payload.length,
    seconds,
    processWriteBytes: io0 === null || io1 === null ? null : io1 - io0,
    maxCommitMs: Math.round(maxCommitMs * 100) / 100,
    maxLateMs: Math.round(maxLateMs * 100) / 100,
  };
}

const specText = process.env['WEAR_FLOOR'];
if (specText !== undefined) {
  const result = await run(JSON.parse(specText) as FloorSpec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
