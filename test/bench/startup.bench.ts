/**
 * `npm run bench:startup`: how long `weir start` takes to be ready with a big log, after a clean
 * stop and after a SIGKILL (time from spawn to the "ready" log line, which Weir logs once its
 * listeners are bound).
 *
 * The log (BENCH_LOG_MB, 1024 MiB) is written once through the store's API, as `weir start`
 * configures the store: topic `bulk` (4 partitions) of batches without a producer, and topic
 * `idem` (4 partitions, BENCH_IDEMPOTENT_SHARE 0.3 of the bytes) of idempotent producers'
 * batches: BENCH_PRODUCERS (200) producer ids, each writing numbered sequences to every
 * partition, as librdkafka would. Records of 1 KiB, 100 a batch (what a client sends; the
 * idempotent ones BENCH_IDEMPOTENT_BATCH_RECORDS (100) a batch: fewer records a batch, more batches,
 * so more of the producers show up in every partition). Then:
 *
 *   empty   Weir on an empty data directory, clean stops: the floor (Node, modules, listeners).
 *   clean   Weir on the big log; each round: spawn, ready (timed), a tail of idempotent records
 *           produced over Kafka (kcat -X enable.idempotence=true, BENCH_TAIL_RECORDS 20000 of
 *           100 B), SIGTERM, exit.
 *   kill    the same with SIGKILL instead of SIGTERM (a warm-up round first, so every timed
 *           start follows a kill): nothing was saved at close, the open reads back whatever
 *           the store reads back after a crash.
 *   cold    as kill, and the LMDB file (data.mdb) dropped from the page cache before each spawn
 *           (dd iflag=nocache: the file's pages only, not the machine's cache), as after a reboot.
 *
 * Every Weir runs with the systemd unit's V8 flags and environment (unit-runtime.ts). Each
 * scenario repeats BENCH_REPEAT (5) times; one JSON line per scenario on stdout, with the ready
 * times (spawn to ready line; Weir's own `startupMs` from its ready line, which leaves out
 * Node's start; the store's open, from the log line before "store opened" to it), their
 * medians, the log's size and the load averages; before them, when the log was written in this
 * run, a `fill` line (its seconds and shape); progress on stderr.
 * BENCH_SCENARIOS=a,b picks scenarios; BENCH_DATA_DIR=DIR keeps the log
 * there (filled if empty, reused as it is otherwise) instead of a temp dir that is removed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { storeOptionsFromConfig } from '../../src/config/store-options.js';
import { encodeRecordBatch } from '../../src/kafka/protocol/record-batch.js';
import { openStore, type LogStore } from '../../src/store/index.js';
import { startWeirProcess, type WeirProcess } from '../helpers/weir-process.js';
import { median } from './percentile.js';
import { unitEnvironment, unitNodeFlags } from './unit-runtime.js';

const env = process.env;
const MiB = 1024 * 1024;
const logBytes = Number(env['BENCH_LOG_MB'] ?? 1024) * MiB;
const idempotentShare = Number(env['BENCH_IDEMPOTENT_SHARE'] ?? 0.3);
const producers = Number(env['BENCH_PRODUCERS'] ?? 200);
const idempotentPerBatch = Number(env['BENCH_IDEMPOTENT_BATCH_RECORDS'] ?? 100);
const repeat = Number(env['BENCH_REPEAT'] ?? 5);
const tailRecords = Number(env['BENCH_TAIL_RECORDS'] ?? 20_000);
const SCENARIOS = ['empty', 'clean', 'kill', 'cold'] as const;
type ScenarioId = (typeof SCENARIOS)[number];
const wanted = (env['BENCH_SCENARIOS'] ?? SCENARIOS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
const PARTITIONS = 4;
const RECORD_BYTES = 1024;
const PER_BATCH = 100;
const TARGET_MS = 1000;

const log = (message: string) => process.stderr.write(`bench:startup: ${message}\n`);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

for (const id of wanted) {
  if (!(SCENARIOS as readonly string[]).includes(id)) {
    process.stderr.write(`bench:startup: BENCH_SCENARIOS: unknown "${id}" (known: ${SCENARIOS.join(', ')})\n`);
    process.exit(2);
  }
}

/** Appends batches from `next` (null: done) with two in flight, as a client keeps several Produce requests in flight. */
async function appendAll(store: LogStore, next: () => { topic: string; partition: number; batch: Buffer } | null): Promise<void> {
  const appender = async () => {
    for (let item = next(); item !== null; item = next()) await store.appendBatches(item.topic, item.partition, item.batch);
  };
  await Promise.all([appender(), appender()]);
}

/**
 * Fills `dir` with about `logBytes` of log: plain batches in `bulk`, idempotent producers'
 * batches in `idem`. Returns the fill's JSON line: its seconds and shape (what it cost the
 * flash is bench:wear's to measure, on a loop device).
 */
async function fill(dir: string): Promise<Record<string, unknown>> {
  let seconds = 0;
  let batches = 0;
  const config = loadConfig({ env: { WEIR_STORE__DIR: dir }, cwd: dir });
  const store = await openStore(storeOptionsFromConfig(config), pino({ level: 'silent' }));
  try {
    await store.createTopic('bulk', { partitions: PARTITIONS });
    await store.createTopic('idem', { partitions: PARTITIONS });
    const value = Buffer.alloc(RECORD_BYTES, 0x61);
    const plainRecords = Array.from({ length: PER_BATCH }, () => ({ key: null, value }));
    const idemRecords = plainRecords.slice(0, idempotentPerBatch);
    const plainTotal = Math.ceil((logBytes * (1 - idempotentShare)) / encodeRecordBatch({ baseOffset: 0, records: plainRecords }).length);
    const idemTotal = Math.ceil((logBytes * idempotentShare) / encodeRecordBatch({ baseOffset: 0, records: idemRecords }).length);
    // Producer ids as Weir hands them out (time × 1000 + n); the next sequence per (producer, partition).
    const firstId = Date.now() * 1000;
    const sequences = new Map<string, number>();
    let plainMade = 0;
    let idemMade = 0;
    const started = performance.now();
    await appendAll(store, () => {
      const made = plainMade + idemMade;
      if (made >= plainTotal + idemTotal) return null;
      if (made % 1000 === 0) log(`filled ${made} of ${plainTotal + idemTotal} batches (${round((performance.now() - started) / 1000)} s)`);
      // The idempotent batches are spread through the run, so every segment holds some.
      if (idemMade / idemTotal > plainMade / plainTotal || idemMade >= idemTotal) {
        return { topic: 'bulk', partition: plainMade++ % PARTITIONS, batch: encodeRecordBatch({ baseOffset: 0, records: plainRecords }) };
      }
      const n = idemMade++;
      const partition = n % PARTITIONS;
      const producerId = firstId + (Math.floor(n / PARTITIONS) % producers);
      const key = `${producerId}:${partition}`;
      const baseSequence = sequences.get(key) ?? 0;
      sequences.set(key, baseSequence + idemRecords.length);
      return { topic: 'idem', partition, batch: encodeRecordBatch({ baseOffset: 0, records: idemRecords, producerId, producerEpoch: 0, baseSequence }) };
    });
    seconds = round((performance.now() - started) / 1000);
    batches = plainTotal + idemTotal;
    log(`filled ${plainTotal} plain and ${idemTotal} idempotent batches (${round(logBytes / MiB)} MiB asked) in ${seconds} s`);
  } finally {
    await store.close();
  }
  return { bench: 'startup', scenario: 'fill', seconds, logMB: round(dirBytes(dir) / 1e6), batches, producers, idempotentBatchRecords: idempotentPerBatch, loadavg: loadavg() };
}

function dirBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => sum + (e.isFile() ? statSync(join(dir, e.name)).size : 0), 0);
}

/** Idempotent kcat producing `tailRecords` records of 100 B into `idem` (random partitions), acks=all. */
function produceTail(weir: WeirProcess): void {
  const input = `${'t'.repeat(100)}\n`.repeat(tailRecords);
  const run = spawnSync('kcat', ['-b', weir.kafka, '-P', '-t', 'idem', '-X', 'enable.idempotence=true', '-X', 'linger.ms=5'], { input, timeout: 60_000 });
  if (run.status !== 0) throw new Error(`kcat -P exited (${run.status ?? run.signal}): ${run.stderr.toString().slice(0, 2000)}`);
}

/** The data file's pages out of the page cache (they were all flushed: acknowledged means on disk). */
function dropFromPageCache(dir: string): void {
  const file = join(dir, 'data.mdb');
  spawnSync('sync', ['-f', file]);
  const run = spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
  if (run.status !== 0) throw new Error(`dd iflag=nocache on ${file}: ${run.stderr.toString()}`);
}

interface Start {
  spawnToReadyMs: number;
  /** Weir's own figure, `startupMs` of its ready line. */
  startupMs: number | null;
  /** From the log line before "store opened" to it: the store's open. */
  storeOpenMs: number | null;
  weir: WeirProcess;
}

async function timedStart(dir: string): Promise<Start> {
  const t0 = performance.now();
  const weir = await startWeirProcess(dir, { env: unitEnvironment(), nodeArgs: unitNodeFlags() });
  const spawnToReadyMs = performance.now() - t0;
  const lines = weir.startLog.flatMap((line) => {
    try {
      return [JSON.parse(line) as { time?: number; msg?: string; startupMs?: number }];
    } catch {
      return [];
    }
  });
  const opened = lines.findIndex((l) => l.msg === 'store opened');
  const storeOpenMs = opened > 0 ? (lines[opened]!.time ?? NaN) - (lines[opened - 1]!.time ?? NaN) : null;
  return { spawnToReadyMs, startupMs: lines.find((l) => l.msg === 'ready')?.startupMs ?? null, storeOpenMs, weir };
}

async function runScenario(id: ScenarioId, bigDir: string): Promise<Record<string, unknown>> {
  const dir = id === 'empty' ? mkdtempSync(join(tmpdir(), 'weir-startup-empty-')) : bigDir;
  const stop: NodeJS.Signals = id === 'kill' || id === 'cold' ? 'SIGKILL' : 'SIGTERM';
  const starts: Start[] = [];
  try {
    if (stop === 'SIGKILL') {
      // Warm-up: the first timed start must follow a kill too.
      const { weir } = await timedStart(dir);
      produceTail(weir);
      await weir.kill('SIGKILL');
    }
    for (let i = 0; i < repeat; i++) {
      if (id === 'cold') dropFromPageCache(dir);
      const start = await timedStart(dir);
      starts.push(start);
      log(`${id} ${i + 1}/${repeat}: ready in ${round(start.spawnToReadyMs)} ms (startupMs ${start.startupMs}, store open ${start.storeOpenMs} ms)`);
      if (id !== 'empty') produceTail(start.weir);
      const { code, signal } = await start.weir.kill(stop);
      if (stop === 'SIGTERM' && code !== 0) throw new Error(`weir exited (${code ?? signal}) on SIGTERM`);
    }
  } finally {
    if (id === 'empty') rmSync(dir, { recursive: true, force: true });
  }
  const ready = starts.map((s) => round(s.spawnToReadyMs));
  const figures = (pick: (s: Start) => number | null) => starts.map(pick).filter((t): t is number => t !== null);
  const startupMs = figures((s) => s.startupMs);
  const storeOpenMs = figures((s) => s.storeOpenMs);
  return {
    bench: 'startup',
    scenario: id,
    logMB: id === 'empty' ? 0 : round(dirBytes(dir) / 1e6),
    tailRecordsPerRound: id === 'empty' ? 0 : tailRecords,
    readyMs: ready,
    medianReadyMs: median(ready),
    startupMs,
    medianStartupMs: startupMs.length > 0 ? median(startupMs) : null,
    storeOpenMs,
    medianStoreOpenMs: storeOpenMs.length > 0 ? median(storeOpenMs) : null,
    targetMs: TARGET_MS,
    met: median(ready) <= TARGET_MS,
    loadavg: loadavg(),
  };
}

async function main(): Promise<void> {
  if (spawnSync('kcat', ['-V']).status !== 0) throw new Error('kcat is missing: apt-get install -y kcat');
  const keep = env['BENCH_DATA_DIR'];
  const bigDir = keep ?? mkdtempSync(join(tmpdir(), 'weir-startup-'));
  try {
    if (wanted.some((id) => id !== 'empty')) {
      if (keep !== undefined) mkdirSync(keep, { recursive: true });
      if (existsSync(join(bigDir, 'data.mdb'))) log(`reusing the log in ${bigDir} (${round(dirBytes(bigDir) / 1e6)} MB)`);
      else process.stdout.write(`${JSON.stringify(await fill(bigDir))}\n`);
    }
    for (const id of wanted) process.stdout.write(`${JSON.stringify(await runScenario(id as ScenarioId, bigDir))}\n`);
  } finally {
    if (keep === undefined) rmSync(bigDir, { recursive: true, force: true });
  }
}

await main();
