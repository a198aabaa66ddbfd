/**
 * `npm run bench:commit-floor`: what one durable ack costs before any broker work, and what part
 * of it is the disk and what part is handing work to another thread. The MQTT target "p99 ≤ 1 ms
 * at 5000 msg/s" sits on this floor (BENCHMARKS.md, MQTT, eighth round).
 *
 * Four operations, one after another from a single caller, each awaited before the next:
 *   fdatasync          4 KB pwrite + fdatasync on the event-loop thread, over blocks already
 *                      written (no thread hop, no metadata update)
 *   lmdb-flushed       lmdb-js put awaited until flushed, as the store commits (overlappingSync)
 *   lmdb-nosync        lmdb-js put in a noSync environment, awaited at commit: the round trip to
 *                      lmdb-js's writer on libuv's pool and back, with no disk flush
 *   pool-roundtrip     fs.fstat through libuv's pool: the thread round trip alone
 * The four take turns, so they see the same moments of a noisy machine. The whole set runs twice:
 * on a quiet machine, and with as many busy-looping processes as there are cores, which is what
 * a broker and its clients sharing a small board look like at the worst moments.
 *
 * Env: BENCH_ITERATIONS (default 3000), BENCH_BUSY=0,2 (busy processes per run; default 0 and the
 * core count). One JSON line per operation and busy level.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fdatasyncSync, fstat, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { atQuantile } from './percentile.js';

const iterations = Number(process.env['BENCH_ITERATIONS'] ?? 3000);
const busyLevels = (process.env['BENCH_BUSY'] ?? `0,${availableParallelism()}`).split(',').map(Number);
const OPERATIONS = ['fdatasync', 'lmdb-flushed', 'lmdb-nosync', 'pool-roundtrip'] as const;
type Operation = (typeof OPERATIONS)[number];

/** Each spins until killed, or until this process is gone (checked every few ms), so none outlives a killed run. */
const SPIN = 'const parent = process.ppid; for (;;) { for (let i = 0; i < 1e7; i++); if (process.ppid !== parent) process.exit(); }';

function startBusy(count: number): ChildProcess[] {
  return Array.from({ length: count }, () => spawn(process.execPath, ['-e', SPIN], { stdio: 'ignore' }));
}

function percentiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => Math.round(atQuantile(sorted, q) * 1000) / 1000;
  return { p50Ms: at(0.5), p99Ms: at(0.99), p999Ms: at(0.999), maxMs: at(1) };
}

async function measure(dir: string): Promise<Record<Operation, number[]>> {
  const flushedRoot = open({ path: join(dir, 'flushed'), noSubdir: false, overlappingSync: true, separateFlushed: true, cache: false, compression: false });
  const noSyncRoot = open({ path: join(dir, 'nosync'), noSubdir: false, overlappingSync: false, noSync: true, cache: false, compression: false });
  const flushedDb = flushedRoot.openDB<Buffer, number>('bench', { keyEncoding: 'uint32', encoding: 'binary' });
  const noSyncDb = noSyncRoot.openDB<Buffer, number>('bench', { keyEncoding: 'uint32', encoding: 'binary' });
  const fd = openSync(join(dir, 'sync.dat'), 'w');
  const block = Buffer.alloc(4096, 0x61);
  const value = Buffer.alloc(300, 0x61);
  const BLOCKS = 256;
  for (let i = 0; i < BLOCKS; i++) writeSync(fd, block, 0, block.length, i * block.length);
  fdatasyncSync(fd);

  const run: Record<Operation, (i: number) => Promise<unknown> | void> = {
    fdatasync: (i) => {
      writeSync(fd, block, 0, block.length, (i % BLOCKS) * block.length);
      fdatasyncSync(fd);
    },
    'lmdb-flushed': async (i) => {
      const write = flushedDb.put(i, value) as Promise<boolean> & { flushed?: Promise<unknown> };
      await write;
      await write.flushed;
    },
    'lmdb-nosync': (i) => noSyncDb.put(i, value),
    'pool-roundtrip': () => new Promise((resolve, reject) => fstat(fd, (err) => (err ? reject(err) : resolve(undefined)))),
  };
  const samples = Object.fromEntries(OPERATIONS.map((op) => [op, [] as number[]])) as Record<Operation, number[]>;
  try {
    for (let i = 0; i < iterations; i++) {
      // A short idle gap now and then, as between messages at a few thousand per second.
      if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      for (const op of OPERATIONS) {
        const t0 = performance.now();
        await run[op](i);
        samples[op].push(performance.now() - t0);
      }
    }
  } finally {
    closeSync(fd);
    await Promise.all([flushedRoot.close(), noSyncRoot.close()]);
  }
  return samples;
}

for (const busy of busyLevels) {
  const dir = mkdtempSync(join(tmpdir(), 'weir-floor-'));
  const spinners = startBusy(busy);
  try {
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the spinners get going
    const samples = await measure(dir);
    for (const op of OPERATIONS) {
      console.log(JSON.stringify({ scenario: `commit-floor/${op}`, busyProcesses: busy, cores: availableParallelism(), iterations, ...percentiles(samples[op]) }));
    }
  } finally {
    for (const spinner of spinners) spinner.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
