/**
 * `npm run bench:store`: durable append throughput and latency of the log store, side by side
 * with raw lmdb-js puts under the same durability (resolve after flush), in one run. Each
 * scenario runs in a fresh process and temp dir; pairs alternate order and repeat, and the
 * medians and their ratio are printed, because shared machines are noisy.
 *
 * Env: BENCH_DURATION_MS (default 2000), BENCH_REPEAT (default 3), BENCH_QUICK=1 (fewer scenarios),
 * and comma lists to pick scenarios: BENCH_SIZES=100,1024 BENCH_APPENDERS=1,10,100,1000
 * BENCH_OVERLAPPING_SYNC=1,0. Both systems run with the systemd unit's V8 flags and environment
 * (unit-runtime.ts; BENCH_NODE_OPTIONS and BENCH_UNIT_ENV override).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './percentile.js';
import { unitEnvironment, unitNodeFlags } from './unit-runtime.js';

const SCENARIO = join(import.meta.dirname, 'store-scenario.js');
const durationMs = Number(process.env['BENCH_DURATION_MS'] ?? 2000);
const repeat = Number(process.env['BENCH_REPEAT'] ?? 3);
const quick = process.env['BENCH_QUICK'] === '1';
const nodeFlags = unitNodeFlags();
const unitEnv = unitEnvironment();

interface Result {
  system: string;
  recordsPerSec: number;
  MBPerSec: number;
  p50Ms: number;
  p99Ms: number;
  peakRssAnonMB: number;
  peakRssFileMB: number;
}

function runOnce(system: string, bytes: number, appenders: number, overlapping: boolean): Result {
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-'));
  try {
    const out = execFileSync(process.execPath, [...nodeFlags, SCENARIO, system, String(bytes), String(appenders), String(durationMs), overlapping ? '1' : '0', dir], {
      encoding: 'utf8',
      env: { ...process.env, ...unitEnv },
    });
    return JSON.parse(out.trim().split('\n').at(-1)!) as Result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}


function summarize(runs: Result[]) {
  return {
    recordsPerSec: median(runs.map((r) => r.recordsPerSec)),
    MBPerSec: median(runs.map((r) => r.MBPerSec)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    peakRssAnonMB: Math.max(...runs.map((r) => r.peakRssAnonMB)),
    peakRssFileMB: Math.max(...runs.map((r) => r.peakRssFileMB)),
  };
}

const list = (name: string, fallback: number[]) => process.env[name]?.split(',').map(Number) ?? fallback;
const sizes = list('BENCH_SIZES', quick ? [100] : [100, 1024]);
const concurrency = list('BENCH_APPENDERS', quick ? [1, 100] : [1, 10, 100, 1000]);
const modes = list('BENCH_OVERLAPPING_SYNC', [1, 0]).map((m) => m === 1);

for (const overlappingSync of modes) {
  for (const recordBytes of sizes) {
    for (const appenders of concurrency) {
      const weir: Result[] = [];
      const raw: Result[] = [];
      for (let i = 0; i < repeat; i++) {
        // Alternate which goes first so drift on a shared machine hits both alike.
        if (i % 2 === 0) {
          weir.push(runOnce('weir', recordBytes, appenders, overlappingSync));
          raw.push(runOnce('raw-lmdb', recordBytes, appenders, overlappingSync));
        } else {
          raw.push(runOnce('raw-lmdb', recordBytes, appenders, overlappingSync));
          weir.push(runOnce('weir', recordBytes, appenders, overlappingSync));
        }
      }
      const w = summarize(weir);
      const r = summarize(raw);
      console.log(
        JSON.stringify({
          scenario: `durable-append/${recordBytes}B/${appenders}-appenders`,
          overlappingSync,
          repeat,
          durationMs,
          weir: w,
          rawLmdb: r,
          throughputRatio: Math.round((w.recordsPerSec / r.recordsPerSec) * 100) / 100,
        }),
      );
    }
  }
}
