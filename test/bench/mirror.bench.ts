/**
 * `npm run bench:mirror`: how fast the mirror drains a backlog to an upstream Weir, against
 * `kcat -P -X acks=-1` sending the same 100-byte records from a file, and against the raw rate of
 * librdkafka's binding (@confluentinc/kafka-javascript, the mirror's `client: librdkafka`, same
 * settings: idempotent, acks=all, lz4)
 * producing the same records with the same four origin headers, all to the same upstream in one
 * run. Then an outage: the upstream refuses connections while the backlog waits, and RssAnon is
 * sampled early and late (memory must not grow with the outage's length).
 *
 * CPU: the drain's own process (the edge Weir, from start to lag 0) per million records drained,
 * and for every scenario the CPU of the upstream Weir and of this process (the fault proxy runs
 * here), so a saturated upstream or proxy shows instead of passing for the mirror's limit.
 *
 * Each scenario runs in a fresh child process (this file with an argument), so peak RssAnon is
 * that scenario's own. One JSON line per scenario, then a summary line with the ratios.
 *
 * And the `forward` side (mirror-forward.ts): the stored batches re-encoded with an origin header
 * per record and sent as Produce requests by a minimal sender of Weir's own, as an upper bound
 * for that design (no idempotence, no retries).
 *
 * Env: BENCH_RECORDS (default 1000000), BENCH_PARTITIONS (4), BENCH_OUTAGE_MS (20000, 0 leaves
 * the outage out), BENCH_REPEAT (1), BENCH_RAW=0 (leaves the raw client out), BENCH_FORWARD=0
 * (leaves the forward side out), BENCH_RULE (JSON
 * merged into the mirror rule, e.g. '{"origin_headers":"four"}'), BENCH_RULES (a JSON list of such
 * rules, each a side of its own, e.g. '[{"origin_headers":"four"},{}]'), BENCH_PROFILE_DIR=dir
 * (each scenario's process runs with --cpu-prof).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type * as RdKafka from '@confluentinc/kafka-javascript';
import { openStore } from '../../src/store/index.js';
import { storeOptions, tempDir } from '../helpers/store.js';
import { mirrorEnv, startEdge, startUpstream, totalLag, type Upstream } from '../bridge/mirror/helpers.js';
import { median } from './percentile.js';
import { forwardStored } from './mirror-forward.js';
import { processCpuSeconds, timedWithCpu } from './process-cpu.js';
import { trackPeakRss } from './rss.js';
import type { MirrorStatus } from '../../bridge/mirror/status.js';

const RECORDS = Number(process.env['BENCH_RECORDS'] ?? 1_000_000);
const PARTITIONS = Number(process.env['BENCH_PARTITIONS'] ?? 4);
const OUTAGE_MS = Number(process.env['BENCH_OUTAGE_MS'] ?? 20_000);
const REPEAT = Number(process.env['BENCH_REPEAT'] ?? 1);
const WITH_RAW = process.env['BENCH_RAW'] !== '0';
const WITH_FORWARD = process.env['BENCH_FORWARD'] !== '0';
const RULE = JSON.parse(process.env['BENCH_RULE'] ?? '{}') as Record<string, unknown>;
/** Mirror variants run side by side, each its own side of every round (BENCH_RULE is the child's). */
const RULES = JSON.parse(process.env['BENCH_RULES'] ?? JSON.stringify([RULE])) as Record<string, unknown>[];
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

/** An edge store holding the backlog: `per` records of 100 B in each partition of sensors.bench, 5000 to a stored batch. */
async function fillEdge(): Promise<{ dir: { dir: string; cleanup(): void }; store: Awaited<ReturnType<typeof openStore>>; per: number }> {
  const dir = tempDir('weir-bench-edge-');
  const store = await openStore(storeOptions(dir.dir), pino({ level: 'silent' }));
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
  return { dir, store, per };
}

/** The same backlog sent by forwardStored (mirror-forward.ts) to `topic`: a producer of Weir's own, as an upper bound. */
async function forward(port: number, topic: string): Promise<Result> {
  const { dir, store, per } = await fillEdge();
  const rss = trackPeakRss(100);
  const cpuAtStart = process.cpuUsage();
  const started = performance.now();
  await forwardStored(store, 'sensors.bench', PARTITIONS, per, port, topic);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuAtStart);
  const total = per * PARTITIONS;
  const out: Result = { scenario: 'forward', records: total, seconds: round(seconds), recordsPerSec: Math.round(total / seconds), peakRssAnonMB: rss.stop().rssAnonMB };
  out.cpuSeconds = round((cpu.user + cpu.system) / 1e6);
  out.cpuSecondsPerMillion = round(((cpu.user + cpu.system) / 1e6 / total) * 1e6);
  await store.close();
  dir.cleanup();
  return out;
}

/** Starts Weir with the mirror over the backlog and times the drain (or, with `outageMs`, samples memory during an outage). */
async function mirror(port: number, outageMs: number): Promise<Result> {
  const { dir, store, per } = await fillEdge();
  await store.close();
  const total = per * PARTITIONS;

  const refusePort = outageMs > 0 ? 1 : port; // port 1: nothing listens, connections are refused
  const rss = trackPeakRss(100);
  const cpuAtStart = process.cpuUsage();
  const weir = await startEdge(dir.dir, { ...mirrorEnv(refusePort, { topics: ['sensors.bench'], upstream_topic: 'mirrored', ...RULE }), WEIR_LOG__LEVEL: 'silent' });
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
    const cpu = process.cpuUsage(cpuAtStart);
    out.cpuSeconds = round((cpu.user + cpu.system) / 1e6);
    out.cpuSecondsPerMillion = round(((cpu.user + cpu.system) / 1e6 / total) * 1e6);
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

/**
 * kcat -P -X acks=-1 sending the same records (100 B values, no key, no headers) from a file, one
 * kcat per partition at once, as the mirror drains its partitions at once. Checked upstream: each
 * partition's high watermark must have grown by its share.
 */
async function kcat(upstream: Upstream, files: string[], roundNo: number): Promise<Result> {
  const bootstrap = `127.0.0.1:${upstream.proxy.port}`;
  const topic = `kcat-${roundNo}`;
  await createTopic(bootstrap, topic);
  const started = performance.now();
  const runs = await Promise.all(files.map((file, p) => timedWithCpu('kcat', ['-P', '-X', 'acks=-1', '-b', bootstrap, '-t', topic, '-p', String(p), '-l', file])));
  const seconds = (performance.now() - started) / 1000;
  await checkLanded(bootstrap, topic);
  const kcatCpu = runs.reduce((n, r) => n + r.cpuSeconds, 0);
  return { scenario: 'kcat', records: RECORDS, seconds: round(seconds), eachSeconds: runs.map((r) => round(r.seconds)), recordsPerSec: Math.round(RECORDS / seconds), peakRssAnonMB: 0, cpuSeconds: round(kcatCpu), cpuSecondsPerMillion: round((kcatCpu / RECORDS) * 1e6) };
}

/**
 * Creates `topic` upstream (the metadata request auto-creates it) before a side's clock starts:
 * the mirror's topic is created by its first run too, and a client waits for a new topic's leader.
 */
async function createTopic(bootstrap: string, topic: string): Promise<void> {
  await promisify(execFile)('kcat', ['-L', '-b', bootstrap, '-t', topic], { encoding: 'utf8' });
}

/** Throws unless the upstream's high watermarks of `topic` add up to the records sent. */
async function checkLanded(bootstrap: string, topic: string): Promise<void> {
  const partitions = Array.from({ length: PARTITIONS }, (_, p) => ['-t', `${topic}:${p}:-1`]).flat();
  const { stdout } = await promisify(execFile)('kcat', ['-Q', '-b', bootstrap, ...partitions], { encoding: 'utf8' });
  const landed = [...stdout.matchAll(/offset (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  if (landed !== RECORDS) throw new Error(`${topic}: ${landed} records upstream, expected ${RECORDS}: ${stdout}`);
}

/** The files kcat sends: partition p's share of the records, one 100-byte value a line. */
function kcatFiles(dir: string): string[] {
  const per = RECORDS / PARTITIONS;
  if (!Number.isInteger(per)) throw new Error(`BENCH_RECORDS must be a multiple of BENCH_PARTITIONS (${PARTITIONS})`);
  const line = `${VALUE.toString()}\n`;
  return Array.from({ length: PARTITIONS }, (_, p) => {
    const file = join(dir, `records-${p}.txt`);
    writeFileSync(file, line.repeat(per));
    return file;
  });
}

/** Runs a scenario and adds the CPU the upstream Weir and this process (the fault proxy) spent meanwhile. */
async function withServerCpu(upstream: Upstream, scenario: () => Promise<Result>): Promise<Result> {
  const pid = upstream.child!.pid!;
  const upstreamAt = processCpuSeconds(pid);
  const proxyAt = process.cpuUsage();
  const result = await scenario();
  const proxy = process.cpuUsage(proxyAt);
  result.upstreamCpuSeconds = round(processCpuSeconds(pid) - upstreamAt);
  result.proxyCpuSeconds = round((proxy.user + proxy.system) / 1e6);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result;
}

async function main(): Promise<void> {
  const [mode, port] = process.argv.slice(2);
  if (mode === 'raw') return void process.stdout.write(`${JSON.stringify(await raw(Number(port)))}\n`);
  if (mode === 'mirror') return void process.stdout.write(`${JSON.stringify(await mirror(Number(port), 0))}\n`);
  if (mode === 'outage') return void process.stdout.write(`${JSON.stringify(await mirror(Number(port), OUTAGE_MS))}\n`);
  if (mode === 'forward') return void process.stdout.write(`${JSON.stringify(await forward(Number(port), process.argv[4]!))}\n`);

  // The upstream plays a datacenter broker: with the board's default memory_high (192 MiB) its
  // memory guard stopped reading sockets for ~20 s under four kcats at once, and refused their
  // connections, which stalled or failed whichever side ran into it.
  const upstream = await startUpstream({ WEIR_TOPIC_DEFAULTS__PARTITIONS: String(PARTITIONS), WEIR_DEVICE__MEMORY_HIGH_BYTES: '2GiB' });
  const files = tempDir('weir-bench-kcat-');
  try {
    const kcatInput = kcatFiles(files.dir);
    // Asynchronous: the fault proxy in front of the upstream runs in this process's event loop.
    const child = async (m: string, rule: Record<string, unknown> = RULE, name = m, extra: string[] = []): Promise<Result> => {
      const prof = PROFILE_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=mirror-${name}.cpuprofile`];
      const env = { ...process.env, BENCH_RULE: JSON.stringify(rule) };
      const { stdout } = await promisify(execFile)(process.execPath, [...prof, SELF, m, String(upstream.proxy.port), ...extra], { encoding: 'utf8', maxBuffer: 1 << 24, env });
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Result;
      if (m === 'mirror') result.rule = rule;
      return result;
    };
    const bootstrap = `127.0.0.1:${upstream.proxy.port}`;
    const forwardSide = async (roundNo: number): Promise<Result> => {
      const topic = `forward-${roundNo}`;
      await createTopic(bootstrap, topic);
      const result = await child('forward', RULE, 'forward', [topic]);
      await checkLanded(bootstrap, topic);
      return result;
    };
    // An exactly-once rule resumes from the cursors it committed upstream: each round gets a cursor
    // topic of its own, or every round after the first would find its backlog sent already.
    const roundRule = (rule: Record<string, unknown>, side: string, roundNo: number): Record<string, unknown> =>
      rule['delivery'] === 'exactly-once' && rule['cursor_topic'] === undefined ? { ...rule, cursor_topic: `weir-mirror-cursors.${side}.${roundNo}` } : rule;
    const mirrorSides = RULES.map((rule, i): [string, (roundNo: number) => Promise<Result>] => {
      const side = RULES.length === 1 ? 'mirror' : `mirror${i}`;
      return [side, (roundNo) => child('mirror', roundRule(rule, side, roundNo), `mirror${i}`)];
    });
    const sides: Record<string, (roundNo: number) => Promise<Result>> = {
      kcat: (i) => kcat(upstream, kcatInput, i),
      ...(WITH_RAW ? { raw: () => child('raw') } : {}),
      ...(WITH_FORWARD ? { forward: (i: number) => forwardSide(i) } : {}),
      ...Object.fromEntries(mirrorSides),
    };
    const runs: Record<string, Result[]> = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
    for (let i = 0; i < REPEAT; i++) {
      // Rotate the order so no side always runs first, on a colder or warmer upstream.
      const names = Object.keys(sides);
      const order = names.map((_, j) => names[(i + j) % names.length]!);
      for (const name of order) runs[name]!.push(await withServerCpu(upstream, () => sides[name]!(i)));
    }
    if (OUTAGE_MS > 0) await withServerCpu(upstream, () => child('outage'));
    const rate = (name: string): number => median(runs[name]!.map((r) => r.recordsPerSec));
    const summary: Record<string, unknown> = {
      summary: 'mirror drain vs kcat -P acks=-1 (and the raw client)',
      records: RECORDS,
      kcatRecordsPerSec: rate('kcat'),
      kcatCpuSecondsPerMillion: median(runs['kcat']!.map((r) => r.cpuSecondsPerMillion as number)),
    };
    for (const [name] of mirrorSides) {
      summary[name] = {
        rule: RULES[mirrorSides.findIndex(([n]) => n === name)],
        recordsPerSec: rate(name),
        vsKcat: round(rate(name) / rate('kcat')),
        roundRatios: runs[name]!.map((r, i) => round(r.recordsPerSec / runs['kcat']![i]!.recordsPerSec)),
        cpuSecondsPerMillion: median(runs[name]!.map((r) => r.cpuSecondsPerMillion as number)),
      };
    }
    if (WITH_RAW) {
      summary.rawRecordsPerSec = rate('raw');
      for (const [name] of mirrorSides) summary[`${name}VsRaw`] = round(rate(name) / rate('raw'));
    }
    if (WITH_FORWARD) {
      summary.forwardRecordsPerSec = rate('forward');
      summary.forwardVsKcat = round(rate('forward') / rate('kcat'));
      summary.forwardCpuSecondsPerMillion = median(runs['forward']!.map((r) => r.cpuSecondsPerMillion as number));
    }
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } finally {
    files.cleanup();
    await upstream.cleanup();
  }
}

await main();
