/**
 * `npm run bench:kafka`: the Kafka listener's throughput, as a client sees it, against `weir
 * start` in its own process (run with the systemd unit's V8 flags and environment, unit-runtime.ts):
 *
 * - kcat -P (librdkafka batching, acks=-1: answered only after the fsynced commit) from a file;
 * - kcat -C from the beginning to the end (-e);
 * - kafkajs producing (acks=-1, batches of 1000, 4 sends in flight), a second client;
 * - the store alone appending the same kind of batches (kafka-store-scenario.ts), so the
 *   ratio kcat/store is the protocol's overhead;
 * - peak RssAnon/RssFile of the Weir process over the whole scenario.
 *
 * For 100 B and 1 KiB records, one and three partitions. Each scenario runs BENCH_REPEAT times
 * (default 3) in fresh processes and temp dirs; medians are printed, one JSON line per scenario.
 * Env: BENCH_RECORDS (default 1,000,000 at 100 B; scaled down for bigger records),
 * BENCH_SIZES=100,1024, BENCH_PARTITIONS=1,3, BENCH_PROFILE_DIR=dir (Weir runs with
 * --cpu-prof and writes its profile there on SIGTERM), BENCH_NODE_OPTIONS and BENCH_UNIT_ENV (unit-runtime.ts),
 * BENCH_WEIR_ENV=WEIR_X__Y=v,... (settings for the Weir under test).
 *
 * BENCH_HOSTILE=1 runs instead only kcat produce at 100 B, 1 partition (BENCH_RECORDS records),
 * BENCH_REPEAT rounds of two runs, alternating which goes first: without, and with
 * BENCH_HOSTILE_CLIENTS (10) connections that each send a 1 MiB size prefix and then one byte
 * every 10 ms for the whole run (hostile-clients.ts, their own process, set up before kcat
 * starts). Per run: msg/s, Weir's and kcat's CPU over the produce (cores), peak RssAnon/RssFile
 * of Weir from its start; one JSON line per run, then one with the medians and the ratio.
 *
 * After the scenarios above (or alone, with BENCH_TXN=only; BENCH_TXN=0 leaves it out): librdkafka
 * (kafka-javascript) producing BENCH_TXN_RECORDS (default 500,000) records of 100 B to one
 * partition, idempotent (one stream) against transactional (1000 records per transaction, one
 * at a time; kafka-txn-produce.ts), BENCH_REPEAT rounds of one run each, alternating which goes
 * first, each in a fresh `weir start`. Per run: msg/s, Weir's CPU (cores), peak RssAnon; the high
 * watermark is checked (the records, plus one marker per transaction). Then one line with the
 * medians and the ratio transactional/idempotent.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startWeirProcess } from '../helpers/weir-process.js';
import { envList } from './env-list.js';
import { unitEnvironment, unitNodeFlags } from './unit-runtime.js';
import { trackPeakRssOf } from './rss.js';
import { startHostile, type HostileResult } from './hostile-clients.js';
import { median } from './percentile.js';
import { compareSides, sideBySide } from './side-by-side.js';
import { processCpuSeconds, timedWithCpu } from './process-cpu.js';
import { librdkafkaProduce, type ProduceMode } from './kafka-txn-produce.js';

const STORE_SCENARIO = join(import.meta.dirname, 'kafka-store-scenario.js');
const repeat = Number(process.env['BENCH_REPEAT'] ?? 3);
const list = (name: string, fallback: number[]) => process.env[name]?.split(',').map(Number) ?? fallback;
const sizes = list('BENCH_SIZES', [100, 1024]);
const partitionCounts = list('BENCH_PARTITIONS', [1, 3]);
const profileDir = process.env['BENCH_PROFILE_DIR'];
const nodeFlags = unitNodeFlags();
const unitEnv = unitEnvironment();
/** Extra WEIR_* settings for the Weir under test, e.g. BENCH_WEIR_ENV=WEIR_KAFKA__MAX_QUEUED_REQUEST_BYTES=8MiB,... */
const weirEnv = envList(process.env['BENCH_WEIR_ENV'] ?? '', 'BENCH_WEIR_ENV');
/** librdkafka's batch cap: up to 10000 records or 1 MB per partition and request. */
const KCAT_BATCH_RECORDS = 10_000;
const KCAT_BATCH_BYTES = 1_000_000;

function recordsFor(bytes: number): number {
  const base = Number(process.env['BENCH_RECORDS'] ?? 1_000_000);
  return bytes <= 100 ? base : Math.round((base * 100) / bytes) * 2;
}

/** N lines of `bytes` printable bytes each: kcat -l sends one record per line. */
function inputFile(dir: string, bytes: number, records: number): string {
  const file = join(dir, `input-${bytes}.txt`);
  const fd = openSync(file, 'w');
  const line = Buffer.alloc(bytes + 1, 0x61);
  line[bytes] = 0x0a;
  const chunk = Buffer.concat(Array.from({ length: 1000 }, () => line));
  for (let written = 0; written < records; written += 1000) writeSync(fd, chunk, 0, Math.min(1000, records - written) * line.length);
  closeSync(fd);
  return file;
}

function timed(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('exit', (code) => (code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr}`))));
  });
}

interface Run {
  kcatProduce: number;
  kcatFetch: number;
  kafkajsProduce: number;
  store: number;
  peakRssAnonMB: number;
  peakRssFileMB: number;
  /** Peak RssAnon during kcat produce, kcat fetch, kafkajs produce: which one sets the peak. */
  phaseRssAnonMB: [number, number, number];
}

async function runOnce(bytes: number, partitions: number, input: string, records: number, n: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-kbench-'));
  const storeDir = mkdtempSync(join(tmpdir(), 'weir-kbench-store-'));
  try {
    const prof = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=weir-${bytes}B-${partitions}p-${n}.cpuprofile`];
    const weir = await startWeirProcess(dir, { nodeArgs: [...nodeFlags, ...prof], env: { ...unitEnv, WEIR_TOPIC_DEFAULTS__PARTITIONS: String(partitions), ...weirEnv } });
    let rss = trackPeakRssOf(weir.pid);
    const phases: { rssAnonMB: number; rssFileMB: number }[] = [];
    const nextPhase = () => {
      phases.push(rss.stop());
      rss = trackPeakRssOf(weir.pid);
    };
    const kafka = new Kafka({ clientId: 'bench', brokers: [weir.kafka], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'bench', numPartitions: partitions }, { topic: 'bench-kafkajs', numPartitions: partitions }] });
    const total = async (topic: string) => (await admin.fetchTopicOffsets(topic)).reduce((s, o) => s + Number(o.high), 0);

    const kcatProduceS = await timed('kcat', ['-P', '-b', weir.kafka, '-t', 'bench', '-X', 'acks=-1', '-X', 'linger.ms=5',
      '-X', `batch.num.messages=${KCAT_BATCH_RECORDS}`, '-X', `batch.size=${KCAT_BATCH_BYTES}`, '-X', 'queue.buffering.max.messages=1000000', '-l', input]);
    const stored = await total('bench');
    if (stored !== records) throw new Error(`kcat produced ${records} records, the broker has ${stored}`);
    nextPhase();
    const kcatFetchS = await timed('kcat', ['-C', '-b', weir.kafka, '-t', 'bench', '-o', 'beginning', '-e', '-q']);
    nextPhase();

    const producer = kafka.producer();
    await producer.connect();
    const kjsRecords = Math.min(records, 200_000);
    const value = Buffer.alloc(bytes, 0x62);
    const messages = Array.from({ length: 1000 }, () => ({ value }));
    let sent = 0;
    const kjsStarted = performance.now();
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (sent < kjsRecords) {
        sent += messages.length;
        await producer.send({ topic: 'bench-kafkajs', acks: -1, messages });
      }
    }));
    const kafkajsS = (performance.now() - kjsStarted) / 1000;
    await producer.disconnect();
    await admin.disconnect();
    phases.push(rss.stop());
    await weir.kill('SIGTERM');

    const perBatch = Math.min(KCAT_BATCH_RECORDS, Math.floor(KCAT_BATCH_BYTES / (bytes + 8)));
    const storeOut = execFileSync(process.execPath, [...nodeFlags, STORE_SCENARIO, String(bytes), String(partitions), String(records), String(perBatch), storeDir], { encoding: 'utf8', env: { ...process.env, ...unitEnv } });
    const storeRun = JSON.parse(storeOut.trim().split('\n').at(-1)!) as { recordsPerSec: number };
    return {
      kcatProduce: Math.round(records / kcatProduceS),
      kcatFetch: Math.round(records / kcatFetchS),
      kafkajsProduce: Math.round(sent / kafkajsS),
      store: storeRun.recordsPerSec,
      peakRssAnonMB: Math.max(...phases.map((p) => p.rssAnonMB)),
      peakRssFileMB: Math.max(...phases.map((p) => p.rssFileMB)),
      phaseRssAnonMB: [phases[0]!.rssAnonMB, phases[1]!.rssAnonMB, phases[2]!.rssAnonMB],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(storeDir, { recursive: true, force: true });
  }
}

interface HostileRun {
  msgPerSec: number;
  seconds: number;
  weirCpu: number;
  kcatCpu: number;
  rssAnonMB: number;
  rssFileMB: number;
  hostile?: HostileResult;
}

async function kcatProduceOnce(input: string, records: number, hostileCount: number): Promise<HostileRun> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-kbench-'));
  try {
    const weir = await startWeirProcess(dir, { nodeArgs: nodeFlags, env: { ...unitEnv, WEIR_TOPIC_DEFAULTS__PARTITIONS: '1', ...weirEnv } });
    const rss = trackPeakRssOf(weir.pid);
    const kafka = new Kafka({ clientId: 'bench', brokers: [weir.kafka], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'bench', numPartitions: 1 }] });
    const hostile = hostileCount === 0 ? undefined : startHostile({ kind: 'kafka-trickle', port: Number(weir.kafka.split(':').at(-1)), count: hostileCount, sizePrefix: 1024 * 1024, intervalMs: 10 });
    await hostile?.ready;
    const cpu0 = processCpuSeconds(weir.pid);
    const kcat = await timedWithCpu('kcat', ['-P', '-b', weir.kafka, '-t', 'bench', '-X', 'acks=-1', '-X', 'linger.ms=5',
      '-X', `batch.num.messages=${KCAT_BATCH_RECORDS}`, '-X', `batch.size=${KCAT_BATCH_BYTES}`, '-X', 'queue.buffering.max.messages=1000000', '-l', input]);
    const weirCpu = processCpuSeconds(weir.pid) - cpu0;
    const hostileResult = await hostile?.stop();
    const stored = (await admin.fetchTopicOffsets('bench')).reduce((s, o) => s + Number(o.high), 0);
    if (stored !== records) throw new Error(`kcat produced ${records} records, the broker has ${stored}`);
    await admin.disconnect();
    const peak = rss.stop();
    await weir.kill('SIGTERM');
    return {
      msgPerSec: Math.round(records / kcat.seconds),
      seconds: Math.round(kcat.seconds * 100) / 100,
      weirCpu: Math.round((weirCpu / kcat.seconds) * 100) / 100,
      kcatCpu: Math.round((kcat.cpuSeconds / kcat.seconds) * 100) / 100,
      rssAnonMB: peak.rssAnonMB,
      rssFileMB: peak.rssFileMB,
      hostile: hostileResult,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function hostileScenario(inputs: string): Promise<void> {
  const count = Number(process.env['BENCH_HOSTILE_CLIENTS'] ?? 10);
  const records = recordsFor(100);
  const input = inputFile(inputs, 100, records);
  const scenario = 'kafka/100B/1p/kcat-produce';
  const runs = await sideBySide(repeat, async (side, round) => {
    const hostile = side === 'with' ? count : 0;
    const run = await kcatProduceOnce(input, records, hostile);
    console.log(JSON.stringify({ scenario, records, round, trickleConnections: hostile, ...run }));
    return run;
  });
  const sum = (rs: HostileRun[]) => ({
    msgPerSec: median(rs.map((r) => r.msgPerSec)),
    weirCpu: median(rs.map((r) => r.weirCpu)),
    kcatCpu: median(rs.map((r) => r.kcatCpu)),
    peakRssAnonMB: Math.max(...rs.map((r) => r.rssAnonMB)),
    peakRssFileMB: Math.max(...rs.map((r) => r.rssFileMB)),
    runsMsgPerSec: rs.map((r) => r.msgPerSec),
    runsRssAnonMB: rs.map((r) => r.rssAnonMB),
  });
  console.log(JSON.stringify({ scenario, records, trickleConnections: count, repeat, ...compareSides(runs, sum) }));
}

interface TxnRun {
  msgPerSec: number;
  seconds: number;
  transactions: number;
  weirCpu: number;
  rssAnonMB: number;
}

async function librdkafkaProduceOnce(mode: ProduceMode, records: number): Promise<TxnRun> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-kbench-'));
  try {
    const weir = await startWeirProcess(dir, { nodeArgs: nodeFlags, env: { ...unitEnv, ...weirEnv } });
    const rss = trackPeakRssOf(weir.pid);
    const admin = new Kafka({ clientId: 'bench', brokers: [weir.kafka], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'bench', numPartitions: 1 }] });
    const cpu0 = processCpuSeconds(weir.pid);
    const run = await librdkafkaProduce(mode, { bootstrap: weir.kafka, topic: 'bench', records, bytes: 100, perTransaction: 1000 });
    const weirCpu = processCpuSeconds(weir.pid) - cpu0;
    const high = (await admin.fetchTopicOffsets('bench')).reduce((s, o) => s + Number(o.high), 0);
    if (high !== records + run.transactions) throw new Error(`${mode}: ${records} records in ${run.transactions} transactions, the high watermark is ${high}`);
    await admin.disconnect();
    const peak = rss.stop();
    await weir.kill('SIGTERM');
    return {
      msgPerSec: Math.round(records / run.seconds),
      seconds: Math.round(run.seconds * 100) / 100,
      transactions: run.transactions,
      weirCpu: Math.round((weirCpu / run.seconds) * 100) / 100,
      rssAnonMB: peak.rssAnonMB,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Idempotent ('without' transactions) against transactional ('with') produce, side by side. */
async function transactionalScenario(): Promise<void> {
  const records = Number(process.env['BENCH_TXN_RECORDS'] ?? 500_000);
  const scenario = 'kafka/100B/1p/librdkafka-transactional-vs-idempotent';
  const runs = await sideBySide(repeat, async (side, round) => {
    const mode: ProduceMode = side === 'with' ? 'transactional' : 'idempotent';
    const run = await librdkafkaProduceOnce(mode, records);
    console.log(JSON.stringify({ scenario, records, round, mode, recordsPerTransaction: mode === 'transactional' ? 1000 : null, ...run }));
    return run;
  });
  const sum = (rs: TxnRun[]) => ({
    msgPerSec: median(rs.map((r) => r.msgPerSec)),
    weirCpu: median(rs.map((r) => r.weirCpu)),
    peakRssAnonMB: Math.max(...rs.map((r) => r.rssAnonMB)),
    runsMsgPerSec: rs.map((r) => r.msgPerSec),
  });
  const { withVsWithout, roundRatios, peakRssAnonMB, without, with: transactional } = compareSides(runs, sum);
  console.log(JSON.stringify({
    scenario, records, repeat, recordsPerTransaction: 1000,
    transactionalVsIdempotent: withVsWithout, roundRatios, peakRssAnonMB: { idempotent: peakRssAnonMB.without, transactional: peakRssAnonMB.with },
    idempotent: without, transactional,
  }));
}

const inputs = mkdtempSync(join(tmpdir(), 'weir-kbench-input-'));
try {
  if (process.env['BENCH_HOSTILE'] === '1') await hostileScenario(inputs);
  else if (process.env['BENCH_TXN'] !== 'only') for (const bytes of sizes) {
    const records = recordsFor(bytes);
    const input = inputFile(inputs, bytes, records);
    for (const partitions of partitionCounts) {
      const runs: Run[] = [];
      for (let i = 0; i < repeat; i++) runs.push(await runOnce(bytes, partitions, input, records, i));
      const m = (k: Exclude<keyof Run, 'phaseRssAnonMB'>) => median(runs.map((r) => r[k]));
      const result = {
        scenario: `kafka/${bytes}B/${partitions}p`,
        records,
        repeat,
        kcatProduceMsgPerSec: m('kcatProduce'),
        kcatFetchMsgPerSec: m('kcatFetch'),
        kafkajsProduceMsgPerSec: m('kafkajsProduce'),
        storeAppendMsgPerSec: m('store'),
        kcatProduceVsStore: Math.round((m('kcatProduce') / m('store')) * 100) / 100,
        kcatProduceMBPerSec: Math.round((m('kcatProduce') * bytes) / 1e5) / 10,
        peakRssAnonMB: Math.max(...runs.map((r) => r.peakRssAnonMB)),
        peakRssFileMB: Math.max(...runs.map((r) => r.peakRssFileMB)),
        /** Per run: kcat produce, kcat fetch, kafkajs produce, store (msg/s); RssAnon MB in the three phases. */
        runs: runs.map((r) => [r.kcatProduce, r.kcatFetch, r.kafkajsProduce, r.store, ...r.phaseRssAnonMB]),
      };
      console.log(JSON.stringify(result));
    }
  }
  if (process.env['BENCH_HOSTILE'] !== '1' && process.env['BENCH_TXN'] !== '0') await transactionalScenario();
} finally {
  rmSync(inputs, { recursive: true, force: true });
}
