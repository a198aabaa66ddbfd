/**
 * `npm run bench:mirror`: how fast the mirror drains a backlog to an upstream Weir, against the
 * raw rate of the same client (@confluentinc/kafka-javascript, same settings: idempotent,
 * acks=all, lz4) producing the same records with the same headers straight to the same upstream,
 * in one run. Then an outage: the upstream refuses connections while the backlog waits, and
 * RssAnon is sampled early and late (memory must not grow with the outage's length).
 *
 * Each scenario runs in a fresh child process (this file with an argument), so peak RssAnon is
 * that scenario's own. One JSON line per scenario, then a summary line with the ratio.
 *
 * Env: BENCH_RECORDS (default 1000000), BENCH_PARTITIONS (4), BENCH_OUTAGE_MS (20000),
 * BENCH_REPEAT (1), BENCH_PROFILE_DIR=dir (each scenario's process runs with --cpu-prof).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type * as RdKafka from '@confluentinc/kafka-javascript';
import { openStore } from '../../src/store/index.js';
import { storeOptions, tempDir } from '../helpers/store.js';
import { mirrorEnv, startEdge, startUpstream, totalLag } from '../bridge/mirror/helpers.js';
import { median } from './percentile.js';
import { trackPeakRss } from './rss.js';
import type { MirrorStatus } from '../../bridge/mirror/status.js';

const RECORDS = Number(process.env['BENCH_RECORDS'] ?? 1_000_000);
const PARTITIONS = Number(process.env['BENCH_PARTITIONS'] ?? 4);
const OUTAGE_MS = Number(process.env['BENCH_OUTAGE_MS'] ?? 20_000);
const REPEAT = Number(process.env['BENCH_REPEAT'] ?? 1);
const PROFILE_DIR = process.env['BENCH_PROFILE_DIR'];
const VALUE = Buffer.alloc(100, 'x');
const SELF = fileURLToPath(import.meta.url);

interface Result {
  scenario: string;
  records: number;
  seconds: number;
  recordsPerSec: number;
  peakRssAnonMB: number;
  [extra: string]: unknown;
}

/** The raw client: same records (100 B value, 4 origin-sized headers), as fast as its queue allows. */
async function raw(port: number): Promise<Result> {
  const Kafka = createRequire(import.meta.url)('@confluentinc/kafka-javascript') as typeof RdKafka;
  const producer = new Kafka.Producer({
    'bootstrap.servers': `127.0.0.1:${port}`,
    dr_cb: true,
    acks: 'all',
    'enable.idempotence': true,
    'compression.codec': 'lz4',
    'linger.ms': 20,
    'batch.num.messages': 10_000,
    'queue.buffering.max.messages': 21_000,
  } as RdKafka.ProducerGlobalConfig);
  await new Promise<void>((res, rej) => producer.connect({ timeout: 10_000 }, (e) => (e ? rej(e) : res())));
  producer.setPollInterval(5);
  const rss = trackPeakRss(100);
  let acked = 0;
  let failed = 0;
  const done = new Promise<void>((resolve) =>
    producer.on('delivery-report', (err) => {
      if (err) failed++;
      if (++acked === RECORDS) resolve();
    }),
  );
  const started = process.hrtime.bigint();
  for (let i = 0; i < RECORDS; ) {
    try {
      const p = i % PARTITIONS;
      producer.produce('raw', p, Buffer.from(VALUE), null, Date.now(), undefined, [
        { 'weir.origin.device': Buffer.from('bench') },
        { 'weir.origin.topic': Buffer.from('sensors.bench') },
        { 'weir.origin.partition': Buffer.from(String(p)) },
        { 'weir.origin.offset': Buffer.from(String(i)) },
      ]);
      i++;
    } catch {
      await new Promise((r) => setTimeout(r, 2)); // queue full: let reports drain
    }
  }
  await done;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const peak = rss.stop();
  await new Promise<void>((r) => producer.disconnect(() => r()));
  return { scenario: 'raw-client', records: RECORDS, seconds: round(seconds), recordsPerSec: Math.round(RECORDS / seconds), peakRssAnonMB: peak.rssAnonMB, failed };
}

/** Fills an edge store with the backlog, then starts Weir with the mirror and times the drain. */
async function mirror(port: number, outageMs: number): Promise<Result> {
  const dir = tempDir('weir-bench-edge-');
  const logger = pino({ level: 'silent' });
  const store = await openStore(storeOptions(dir.dir), logger);
  await store.createTopic('sensors.bench', { partitions: PARTITIONS });
  const per = Math.ceil(RECORDS / PARTITIONS);
  const jobs: Promise<unknown>[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    for (let i = 0; i < per; i += 5000) {
      jobs.push(store.appendRecords('sensors.bench', p, Array.from({ length: Math.min(5000, per - i) }, () => ({ key: null, value: VALUE }))));
      if (jobs.length >= 16) await Promise.all(jobs.splice(0));
    }
  }
  await Promise.all(jobs);
  await store.close();
  const total = per * PARTITIONS;

  const refusePort = outageMs > 0 ? 1 : port; // port 1: nothing listens, connections are refused
  const rss = trackPeakRss(100);
  const weir = await startEdge(dir.dir, { ...mirrorEnv(refusePort, { topics: ['sensors.bench'], upstream_topic: 'mirrored' }), WEIR_LOG__LEVEL: 'silent' });
  const status = (): Promise<ReturnType<typeof totalLag>> =>
    fetch(`http://127.0.0.1:${weir.adminAddress!.port}/api/mirror`).then(async (r) => totalLag((await r.json()) as MirrorStatus));
  const out: Result = { scenario: outageMs > 0 ? 'outage' : 'mirror-drain', records: total, seconds: 0, recordsPerSec: 0, peakRssAnonMB: 0 };
  if (outageMs > 0) {
    // The upstream never answers: sample memory early and late; it must not grow.
    await new Promise((r) => setTimeout(r, 3000));
    out.rssAnonAt3sMB = rssAnonNow();
    await new Promise((r) => setTimeout(r, outageMs - 3000));
    out.rssAnonAtEndMB = rssAnonNow();
    out.seconds = outageMs / 1000;
    out.lagAtEnd = await status();
  } else {
    const started = Date.now();
    while ((await status()) > 0) await new Promise((r) => setTimeout(r, 50));
    out.seconds = round((Date.now() - started) / 1000);
    out.recordsPerSec = Math.round(total / out.seconds);
  }
  out.peakRssAnonMB = rss.stop().rssAnonMB;
  await weir.shutdown('bench done');
  dir.cleanup();
  return out;
}

function rssAnonNow(): number {
  return Math.round(trackPeakRss(1000).stop().rssAnonMB * 10) / 10;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

async function main(): Promise<void> {
  const [mode, port] = process.argv.slice(2);
  if (mode === 'raw') return void process.stdout.write(`${JSON.stringify(await raw(Number(port)))}\n`);
  if (mode === 'mirror') return void process.stdout.write(`${JSON.stringify(await mirror(Number(port), 0))}\n`);
  if (mode === 'outage') return void process.stdout.write(`${JSON.stringify(await mirror(Number(port), OUTAGE_MS))}\n`);

  const upstream = await startUpstream({ WEIR_TOPIC_DEFAULTS__PARTITIONS: String(PARTITIONS) });
  try {
    // Asynchronous: the fault proxy in front of the upstream runs in this process's event loop.
    const run = async (m: string): Promise<Result> => {
      const prof = PROFILE_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=mirror-${m}.cpuprofile`];
      const { stdout } = await promisify(execFile)(process.execPath, [...prof, SELF, m, String(upstream.proxy.port)], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const line = stdout.trim().split('\n').at(-1)!;
      process.stdout.write(`${line}\n`);
      return JSON.parse(line) as Result;
    };
    const rawRates: number[] = [];
    const mirrorRates: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      // Alternate the order so neither side always runs on a warmer upstream.
      if (i % 2 === 0) {
        rawRates.push((await run('raw')).recordsPerSec);
        mirrorRates.push((await run('mirror')).recordsPerSec);
      } else {
        mirrorRates.push((await run('mirror')).recordsPerSec);
        rawRates.push((await run('raw')).recordsPerSec);
      }
    }
    await run('outage');
    const r = median(rawRates);
    const m = median(mirrorRates);
    process.stdout.write(`${JSON.stringify({ summary: 'mirror drain vs raw client', records: RECORDS, rawRecordsPerSec: r, mirrorRecordsPerSec: m, ratio: round(m / r) })}\n`);
  } finally {
    await upstream.cleanup();
  }
}

await main();
