/**
 * `npm run bench:compaction`: the log cleaner (cleanup.policy=compact).
 *
 * 1. Compaction speed and memory. Each scenario runs compaction-scenario.ts in a fresh process
 *    (the systemd unit's V8 flags and environment, unit-runtime.ts): a one-partition compacted
 *    topic filled with keyed records (keys uniformly random, several values per key), then
 *    `LogStore.runCompaction` until nothing is due, timed. Records/s compacted = records of the
 *    closed segments compacted ÷ the passes' seconds; MB/s reclaimed = bytes reclaimed ÷ the
 *    same seconds; RssAnon of that process just before the passes and its peak during them.
 * 2. Flash: the data lives on a scratch ext4 on a loop device (wear-device.ts, as bench:wear;
 *    root needed, else the scenarios run in a temp dir without device figures). The window is
 *    bench:wear's: `sync -f`, 2 s, `sync -f`, sectors written; the passes; BENCH_SETTLE_MS (6000,
 *    past ext4's 5 s journal commit), `sync -f`, sectors written. Device bytes ÷ bytes reclaimed,
 *    and ÷ bytes of the batches the passes rewrote (a batch whose CRC changed; one rewritten by
 *    two passes counts once).
 * 3. Produce during compaction (compaction-produce.ts): kcat at full rate into `weir start` while
 *    the cleaner compacts another topic of it, against the same without compaction, side by side
 *    (alternating order) for BENCH_REPEAT (3) rounds; medians, the ratio, kcat's CPU.
 *
 * Scenarios (BENCH_SCENARIOS=a,b picks; `produce` is part 3):
 *   100B-1k        100 B values, 1k keys, 1M records, 16 MiB buffer (default)
 *   100B-1M-32MiB  100 B, 1M keys, 3M records, 32 MiB buffer: holds every key, one pass
 *   100B-1M        100 B, 1M keys, 3M records, 16 MiB (holds 629k keys: several passes)
 *   1KB-1k         1 KiB values, 1k keys, 200k records, 16 MiB
 *   1KB-1M         1 KiB, 1M keys, 3M records, 32 MiB: 3.2 GB, more than the 2 GiB scratch
 *                  image holds, so in the temp dir, without device figures
 *   produce        part 3
 * BENCH_SCALE (1) multiplies every record count; BENCH_BATCH_RECORDS (100) records per batch;
 * BENCH_DIRTY_RATIO (0.5, Kafka's) min.cleanable.dirty.ratio of the compacted topic;
 * BENCH_DEVICE=0 skips the loop device; BENCH_PRODUCE_RECORDS (3M) records kcat produces per
 * run, BENCH_PRODUCE_COMPACT_RECORDS (3M, 20k keys) the topic compacted meanwhile;
 * BENCH_NODE_OPTIONS, BENCH_UNIT_ENV (unit-runtime.ts); BENCH_WEIR_ENV=WEIR_X__Y=v,... for the
 * Weir of part 3. One JSON line per scenario (part 3: one per run, then the comparison), each
 * with the load averages when it ended; progress on stderr.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { produceOnce, writeInput, type ProduceRun, type ProduceSpec } from './compaction-produce.js';
import type { CompactionScenarioSpec } from './compaction-scenario.js';
import { envList } from './env-list.js';
import { median } from './percentile.js';
import { compareSides, sideBySide } from './side-by-side.js';
import { unitEnvironment, unitNodeFlags } from './unit-runtime.js';
import { cannotRun, createScratchDevice, type ScratchDevice } from './wear-device.js';

const env = process.env;
const SCENARIO = join(import.meta.dirname, 'compaction-scenario.js');
const MiB = 1024 * 1024;
const scale = Number(env['BENCH_SCALE'] ?? 1);
const perBatch = Number(env['BENCH_BATCH_RECORDS'] ?? 100);
const dirtyRatio = Number(env['BENCH_DIRTY_RATIO'] ?? 0.5);
const settleMs = Number(env['BENCH_SETTLE_MS'] ?? 6000);
const repeat = Number(env['BENCH_REPEAT'] ?? 3);
const nodeFlags = unitNodeFlags();
const unitEnv = unitEnvironment();

interface Scenario {
  id: string;
  recordBytes: number;
  keys: number;
  records: number;
  bufferMiB: number;
  /** Too big for the 2 GiB scratch image: runs in the temp dir, without device figures. */
  offDevice?: boolean;
}

const SCENARIOS: Scenario[] = [
  { id: '100B-1k', recordBytes: 100, keys: 1000, records: 1_000_000, bufferMiB: 16 },
  { id: '100B-1M-32MiB', recordBytes: 100, keys: 1_000_000, records: 3_000_000, bufferMiB: 32 },
  { id: '100B-1M', recordBytes: 100, keys: 1_000_000, records: 3_000_000, bufferMiB: 16 },
  { id: '1KB-1k', recordBytes: 1024, keys: 1000, records: 200_000, bufferMiB: 16 },
  { id: '1KB-1M', recordBytes: 1024, keys: 1_000_000, records: 3_000_000, bufferMiB: 32, offDevice: true },
];
const DEFAULT_SET = ['100B-1k', '100B-1M-32MiB', '100B-1M', '1KB-1k', '1KB-1M', 'produce'];

function fail(message: string): never {
  process.stderr.write(`bench:compaction: ${message}\n`);
  process.exit(2);
}
const log = (message: string) => process.stderr.write(`bench:compaction: ${message}\n`);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const wanted = (env['BENCH_SCENARIOS'] ?? DEFAULT_SET.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
for (const id of wanted) if (id !== 'produce' && !SCENARIOS.some((s) => s.id === id)) fail(`BENCH_SCENARIOS: unknown "${id}" (known: ${[...SCENARIOS.map((s) => s.id), 'produce'].join(', ')})`);
if (!(scale > 0)) fail(`BENCH_SCALE must be above 0, not ${env['BENCH_SCALE']}`);

// ---- parts 1 and 2: one scenario process ----

/** A child that speaks compaction-scenario.ts's line protocol. */
function startScenario(spec: CompactionScenarioSpec) {
  const child = spawn(process.execPath, [...nodeFlags, SCENARIO], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...env, ...unitEnv, COMPACTION_SCENARIO: JSON.stringify(spec) } });
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    queue.push(line);
    wake?.();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    /** The next line starting with `prefix`, parsed after it. */
    async next<T>(prefix: string): Promise<T> {
      for (;;) {
        const line = queue.shift();
        if (line !== undefined) {
          if (line.startsWith(prefix)) return JSON.parse(line.slice(prefix.length)) as T;
          continue;
        }
        const ended = await Promise.race([new Promise<false>((resolve) => (wake = () => resolve(false))), exited.then(() => true)]);
        if (ended && queue.length === 0) throw new Error(`the scenario process exited (${child.exitCode}) before "${prefix}"`);
      }
    },
    tell: (word: string) => child.stdin!.write(`${word}\n`),
    exited,
  };
}

interface Compacted {
  seconds: number;
  passes: { seconds: number }[];
  recordsRemoved: number;
  bytesReclaimed: number;
  sizeBytesAfter: number;
  behind: boolean | null;
  dirtyRatioAfter: number | null;
  rssAnonBeforeMB: number;
  peakRssAnonMB: number;
  heapTotalAtPeakMB: number | null;
  externalAtPeakMB: number | null;
}

async function runScenario(s: Scenario, scratch: ScratchDevice | undefined): Promise<Record<string, unknown>> {
  const device = s.offDevice === true ? undefined : scratch;
  const dir = mkdtempSync(join(device?.mount ?? tmpdir(), `weir-compaction-${s.id}-`));
  const records = Math.round(s.records * scale);
  try {
    const proc = startScenario({ dir, recordBytes: s.recordBytes, keys: s.keys, records, perBatch, bufferBytes: s.bufferMiB * MiB, dirtyRatio });
    const filled = await proc.next<{ fillSeconds: number; sizeBytes: number; batches: number }>('filled ');
    log(`${s.id}: filled ${records} records (${round(filled.sizeBytes / 1e6, 1)} MB) in ${filled.fillSeconds} s; compacting`);
    let before = 0;
    if (device !== undefined) {
      device.sync();
      await sleep(2000);
      device.sync();
      before = device.bytesWritten();
    }
    proc.tell('go');
    const c = await proc.next<Compacted>('compacted ');
    let deviceBytes: number | null = null;
    if (device !== undefined) {
      await sleep(settleMs);
      device.sync();
      deviceBytes = device.bytesWritten() - before;
    }
    proc.tell('scan');
    const scanned = await proc.next<{ batchesBefore: number; batchesAfter: number; rewrittenBatches: number; rewrittenBytes: number }>('scanned ');
    await proc.exited;
    return {
      scenario: `compaction/${s.recordBytes}B/${s.keys}-keys/${s.bufferMiB}MiB-buffer`,
      records,
      valuesPerKey: round(records / s.keys, 1),
      recordsPerBatch: perBatch,
      removedRatio: round(c.recordsRemoved / records, 3),
      passes: c.passes.length,
      seconds: round(c.seconds),
      recordsPerSec: Math.round(records / c.seconds),
      recordsRemovedPerSec: Math.round(c.recordsRemoved / c.seconds),
      MBReclaimedPerSec: round(c.bytesReclaimed / 1e6 / c.seconds, 1),
      MBBefore: round(filled.sizeBytes / 1e6, 1),
      MBReclaimed: round(c.bytesReclaimed / 1e6, 1),
      behindAfter: c.behind,
      dirtyRatioAfter: c.dirtyRatioAfter === null ? null : round(c.dirtyRatioAfter, 3),
      rssAnonBeforeMB: c.rssAnonBeforeMB,
      peakRssAnonMB: c.peakRssAnonMB,
      heapTotalAtPeakMB: c.heapTotalAtPeakMB,
      externalAtPeakMB: c.externalAtPeakMB,
      deviceMB: deviceBytes === null ? null : round(deviceBytes / 1e6, 1),
      rewrittenMB: round(scanned.rewrittenBytes / 1e6, 1),
      rewrittenBatches: scanned.rewrittenBatches,
      batchesBefore: scanned.batchesBefore,
      batchesAfter: scanned.batchesAfter,
      deviceBytesPerByteReclaimed: deviceBytes === null || c.bytesReclaimed === 0 ? null : round(deviceBytes / c.bytesReclaimed, 3),
      deviceBytesPerByteRewritten: deviceBytes === null || scanned.rewrittenBytes === 0 ? null : round(deviceBytes / scanned.rewrittenBytes, 2),
      passSeconds: c.passes.map((p) => round(p.seconds)),
      fillSeconds: filled.fillSeconds,
      loadavg: loadavg(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- part 3 ----

async function produceScenario(): Promise<void> {
  const spec: ProduceSpec = {
    recordBytes: 100,
    produceRecords: Math.round(Number(env['BENCH_PRODUCE_RECORDS'] ?? 3_000_000) * scale),
    compactRecords: Math.round(Number(env['BENCH_PRODUCE_COMPACT_RECORDS'] ?? 3_000_000) * scale),
    compactKeys: 20_000,
    nodeFlags,
    env: { ...unitEnv, ...envList(env['BENCH_WEIR_ENV'] ?? '', 'BENCH_WEIR_ENV') },
  };
  const inputs = mkdtempSync(join(tmpdir(), 'weir-cbench-input-'));
  try {
    const files = {
      load: writeInput(join(inputs, 'load.txt'), spec.recordBytes, spec.produceRecords, null),
      keyed: writeInput(join(inputs, 'keyed.txt'), spec.recordBytes, spec.compactRecords, spec.compactKeys),
    };
    const scenario = `produce-during-compaction/${spec.recordBytes}B/kcat`;
    const runs = await sideBySide(repeat, async (side, round) => {
      const run = await produceOnce(spec, side, files);
      console.log(JSON.stringify({ scenario, side, round, ...run, loadavg: loadavg() }));
      return run;
    });
    const sum = (rs: ProduceRun[]) => ({
      msgPerSec: median(rs.map((r) => r.msgPerSec)),
      weirCpu: median(rs.map((r) => r.weirCpu)),
      kcatCpu: median(rs.map((r) => r.kcatCpu)),
      peakRssAnonMB: Math.max(...rs.map((r) => r.peakRssAnonMB)),
      runsMsgPerSec: rs.map((r) => r.msgPerSec),
    });
    const compared = compareSides(runs, sum);
    console.log(JSON.stringify({
      scenario,
      produceRecords: spec.produceRecords,
      compactRecords: spec.compactRecords,
      compactKeys: spec.compactKeys,
      repeat,
      ...compared,
      compactionCoveredProduce: runs.with.map((r) => r.compactionCoveredProduce),
      target: compared.withVsWithout >= 0.8 ? 'met (>= 0.8)' : 'missed (< 0.8)',
      loadavg: loadavg(),
    }));
  } finally {
    rmSync(inputs, { recursive: true, force: true });
  }
}

// ---- main ----

let device: ScratchDevice | undefined;
const cleanUp = () => device?.teardown();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    cleanUp();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}
process.once('exit', cleanUp);

let exitCode = 0;
try {
  const selected = SCENARIOS.filter((s) => wanted.includes(s.id));
  if (selected.length > 0) {
    const why = env['BENCH_DEVICE'] === '0' ? 'BENCH_DEVICE=0' : cannotRun();
    if (why === null) {
      device = createScratchDevice('noatime');
      log(`scratch filesystem: ${device.device}, ext4 on ${device.mount} -o noatime`);
    } else {
      log(`no device figures (${why}): the scenarios run in ${tmpdir()}`);
    }
  }
  for (const s of selected) console.log(JSON.stringify(await runScenario(s, device)));
  if (wanted.includes('produce')) await produceScenario();
} catch (err) {
  process.stderr.write(`bench:compaction: failed: ${(err as Error).stack ?? String(err)}\n`);
  exitCode = 1;
} finally {
  cleanUp();
}
process.exit(exitCode);
