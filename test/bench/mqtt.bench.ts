/**
 * `npm run bench:mqtt`: QoS 1 PUBLISH → PUBACK through Weir's MQTT bridge (durable: each PUBACK
 * waits for the LMDB flush of its record), side by side with plain aedes and its in-memory
 * persistence (no log), in the same run, each broker in its own process with the systemd unit's
 * V8 flags and environment (unit-runtime.ts).
 *
 * Scenarios: 100 B and 1 KiB payloads × 10/100/1000 connections with 16/16/4 PUBLISHes in flight
 * each (closed loop: msg/s), and an open-loop run at a fixed 5000 msg/s over 100 connections
 * (latency). Load comes from BENCH_GENERATORS (default 2) raw-socket generator processes
 * (mqtt-load.ts); their CPU is reported, so one can see they are not the bottleneck.
 * Per scenario and broker: msg/s, publish→PUBACK p50/p99/p999 (ms), broker CPU (share of one
 * core) over the measurement, peak RssAnon/RssFile over the whole run (connects included).
 * Each scenario runs BENCH_REPEAT times (default 3) with fresh brokers and data dirs; medians.
 * Env: BENCH_SIZES=100,1024, BENCH_CONNS=10:16,100:16,1000:4 ("" for none), BENCH_RATE=5000,
 * BENCH_SECONDS=8 (measurement; 2 s warm-up before), BENCH_GENERATORS=2,
 * BENCH_WEIR_ENV=WEIR_X__Y=v,..., BENCH_PROFILE_DIR=dir (both brokers run with --cpu-prof),
 * BENCH_AEDES_TUNED=1 (plain aedes also gets the speed-ups the weir executable gives the aedes it
 * embeds: the no-op `debug` loggers and bl reads without a Buffer per read (bridge/mqtt/speedups/),
 * and the message bus that skips matching with no subscriber (bridge/mqtt/local-emitter.ts). The
 * baseline is then aedes as Weir runs it, not as shipped).
 *
 * BENCH_HOSTILE=1 runs instead only the closed-loop 100 B × 100 connections × 16 in flight
 * scenario against Weir (no plain aedes: the question is Weir with vs without, and aedes would
 * double the time), BENCH_REPEAT rounds of two runs, alternating which goes first: without, and
 * with BENCH_HOSTILE_CLIENTS (10) raw-socket subscribers to `#` at QoS 0 that never read
 * (hostile-clients.ts, their own process, connected before the load starts). One JSON line per
 * run, then one with the medians, the ratio with ÷ without and the peak RssAnon of each side.
 * BENCH_HOSTILE_READING=1 makes those subscribers read (and discard) what they get: the control
 * that separates the cost of fan-out to 10 `#` subscribers from the cost of their not reading.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startWeirProcess } from '../helpers/weir-process.js';
import { BUCKETS, bucketUpperUs, type LoadResult, type LoadSpec } from './mqtt-load.js';
import { envList } from './env-list.js';
import { unitEnvironment, unitNodeFlags } from './unit-runtime.js';
import { trackPeakRssOf } from './rss.js';
import { startHostile, type HostileResult } from './hostile-clients.js';
import { median } from './percentile.js';
import { compareSides, sideBySide } from './side-by-side.js';

const LOAD = join(import.meta.dirname, 'mqtt-load.js');
const PLAIN = join(import.meta.dirname, 'mqtt-plain-broker.js');
const env = process.env;
const repeat = Number(env['BENCH_REPEAT'] ?? 3);
const sizes = (env['BENCH_SIZES'] ?? '100,1024').split(',').map(Number);
const connScenarios = (env['BENCH_CONNS'] ?? '10:16,100:16,1000:4').split(',').filter(Boolean).map((s) => s.split(':').map(Number) as [number, number]);
const rate = Number(env['BENCH_RATE'] ?? 5000);
const measureMs = Number(env['BENCH_SECONDS'] ?? 8) * 1000;
const warmupMs = 2000;
const generators = Number(env['BENCH_GENERATORS'] ?? 2);
const profileDir = env['BENCH_PROFILE_DIR'];
const aedesTuned = env['BENCH_AEDES_TUNED'] === '1';
const hostileMode = env['BENCH_HOSTILE'] === '1';
const hostileClients = Number(env['BENCH_HOSTILE_CLIENTS'] ?? 10);
const hostileKind = env['BENCH_HOSTILE_READING'] === '1' ? 'mqtt-reader' : 'mqtt-subscriber';
const weirEnv = envList(env['BENCH_WEIR_ENV'] ?? '', 'BENCH_WEIR_ENV');
const nodeFlags = unitNodeFlags();
const unitEnv = unitEnvironment();
const CLK_TCK = 100;

type BrokerKind = 'weir' | 'aedes-memory';

interface Broker {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

async function startBroker(kind: BrokerKind, dir: string, tag: string): Promise<Broker> {
  const prof = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${kind}-${tag}.cpuprofile`];
  if (kind === 'weir') {
    const weir = await startWeirProcess(dir, {
      nodeArgs: [...nodeFlags, ...prof],
      env: { ...unitEnv, WEIR_MQTT__ENABLED: 'true', WEIR_MQTT__LISTEN: '127.0.0.1:0', WEIR_MQTT__MAX_CONNECTIONS: '2000', ...weirEnv },
    });
    if (weir.mqtt === null) throw new Error('weir started without an MQTT listener');
    return { pid: weir.pid, port: Number(weir.mqtt.split(':').at(-1)), stop: async () => void (await weir.kill('SIGTERM')) };
  }
  const child = spawn(process.execPath, [...nodeFlags, ...prof, PLAIN], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...unitEnv, PLAIN_AEDES_TUNED: aedesTuned ? '1' : '0' },
  });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^ready (\d+)$/.exec(line);
      if (m !== null) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`plain aedes exited ${code}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { pid: child.pid!, port, stop: async () => { child.kill('SIGTERM'); await exited; } };
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function startGenerator(spec: LoadSpec): { child: ChildProcess; connected: Promise<void>; result: Promise<LoadResult> } {
  const child = spawn(process.execPath, [LOAD, JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let onConnected!: () => void;
  const connected = new Promise<void>((resolve) => (onConnected = resolve));
  const result = new Promise<LoadResult>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'connected') onConnected();
      else if (line.startsWith('{')) resolve(JSON.parse(line) as LoadResult);
    });
    child.once('exit', (code) => reject(new Error(`generator ${spec.name} exited ${code}`)));
  });
  result.catch(() => undefined);
  return { child, connected: Promise.race([connected, result.then(() => undefined)]), result };
}

interface Run {
  msgPerSec: number;
  p50: number;
  p99: number;
  p999: number;
  maxMs: number;
  brokerCpu: number;
  generatorCpu: number[];
  rssAnonMB: number;
  rssFileMB: number;
  skipped: number;
  hostile?: HostileResult;
}

function percentileMs(histogram: number[], q: number): number {
  const total = histogram.reduce((a, b) => a + b, 0);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    if (seen >= total * q) return Math.round(bucketUpperUs(i)) / 1000;
  }
  return NaN;
}

async function runOnce(kind: BrokerKind, bytes: number, connections: number, inflight: number, totalRate: number, tag: string, hostileCount = 0): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-mqbench-'));
  try {
    const broker = await startBroker(kind, dir, tag);
    const rss = trackPeakRssOf(broker.pid);
    const hostile = hostileCount === 0 ? undefined : startHostile({ kind: hostileKind, port: broker.port, count: hostileCount });
    await hostile?.ready;
    const gens = Array.from({ length: generators }, (_, g) => {
      const conns = Math.floor(connections / generators) + (g < connections % generators ? 1 : 0);
      return startGenerator({ port: broker.port, connections: conns, inflight, bytes, warmupMs, measureMs, rate: totalRate === 0 ? 0 : (totalRate * conns) / connections, name: `g${g}` });
    }).filter((_, g) => Math.floor(connections / generators) + (g < connections % generators ? 1 : 0) > 0);
    await Promise.all(gens.map((g) => g.connected));
    for (const g of gens) g.child.stdin!.write('go\n');
    await new Promise((resolve) => setTimeout(resolve, warmupMs));
    const cpu0 = cpuSeconds(broker.pid);
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, measureMs));
    const brokerCpu = (cpuSeconds(broker.pid) - cpu0) / ((performance.now() - t0) / 1000);
    const results = await Promise.all(gens.map((g) => g.result));
    const hostileResult = await hostile?.stop();
    const peak = rss.stop();
    await broker.stop();
    const histogram = new Array<number>(BUCKETS).fill(0);
    for (const r of results) r.histogram.forEach((n, i) => (histogram[i]! += n));
    return {
      msgPerSec: Math.round(results.reduce((s, r) => s + r.acked / r.seconds, 0)),
      p50: percentileMs(histogram, 0.5),
      p99: percentileMs(histogram, 0.99),
      p999: percentileMs(histogram, 0.999),
      maxMs: Math.max(...results.map((r) => r.maxUs)) / 1000,
      brokerCpu: Math.round(brokerCpu * 100) / 100,
      generatorCpu: results.map((r) => Math.round(r.cpu * 100) / 100),
      rssAnonMB: peak.rssAnonMB,
      rssFileMB: peak.rssFileMB,
      skipped: results.reduce((s, r) => s + r.skipped, 0),
      hostile: hostileResult,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function summary(runs: Run[]) {
  const m = (k: 'msgPerSec' | 'p50' | 'p99' | 'p999' | 'brokerCpu') => median(runs.map((r) => r[k]));
  return {
    msgPerSec: m('msgPerSec'),
    p50Ms: m('p50'),
    p99Ms: m('p99'),
    p999Ms: m('p999'),
    maxMs: Math.max(...runs.map((r) => r.maxMs)),
    brokerCpu: m('brokerCpu'),
    generatorCpu: runs.map((r) => r.generatorCpu),
    peakRssAnonMB: Math.max(...runs.map((r) => r.rssAnonMB)),
    peakRssFileMB: Math.max(...runs.map((r) => r.rssFileMB)),
    skipped: runs.reduce((s, r) => s + r.skipped, 0),
    runsMsgPerSec: runs.map((r) => r.msgPerSec),
  };
}

async function scenario(name: string, bytes: number, connections: number, inflight: number, totalRate: number): Promise<void> {
  const runs: Record<BrokerKind, Run[]> = { weir: [], 'aedes-memory': [] };
  for (let i = 0; i < repeat; i++) {
    // Alternate which goes first, so drift on a shared machine hits both sides alike.
    const order: BrokerKind[] = i % 2 === 0 ? ['aedes-memory', 'weir'] : ['weir', 'aedes-memory'];
    for (const kind of order) runs[kind].push(await runOnce(kind, bytes, connections, inflight, totalRate, `${name.replaceAll('/', '-')}-${i}`));
  }
  const weir = summary(runs.weir);
  const plain = summary(runs['aedes-memory']);
  console.log(JSON.stringify({
    scenario: name,
    bytes,
    connections,
    inflight: totalRate === 0 ? inflight : undefined,
    rate: totalRate === 0 ? undefined : totalRate,
    repeat,
    weirVsAedes: Math.round((weir.msgPerSec / plain.msgPerSec) * 100) / 100,
    aedesTuned,
    weir,
    aedesMemory: plain,
  }));
}

async function hostileScenario(): Promise<void> {
  const [bytes, connections, inflight] = [100, 100, 16];
  const name = `mqtt/${bytes}B/${connections}c/${inflight}inflight`;
  const runs = await sideBySide(repeat, async (side, round) => {
    const hostile = side === 'with' ? hostileClients : 0;
    const run = await runOnce('weir', bytes, connections, inflight, 0, `${name.replaceAll('/', '-')}-${side}-${round}`, hostile);
    console.log(JSON.stringify({ scenario: name, round, hostileSubscribers: hostile, ...run }));
    return run;
  });
  console.log(JSON.stringify({
    scenario: name,
    hostileSubscribers: hostileClients,
    subscribersRead: hostileKind === 'mqtt-reader',
    repeat,
    ...compareSides(runs, summary),
  }));
}

if (hostileMode) await hostileScenario();
else for (const bytes of sizes) {
  for (const [connections, inflight] of connScenarios) await scenario(`mqtt/${bytes}B/${connections}c/${inflight}inflight`, bytes, connections, inflight, 0);
  if (rate > 0) await scenario(`mqtt/${bytes}B/100c/${rate}msgps`, bytes, 100, 0, rate);
}
