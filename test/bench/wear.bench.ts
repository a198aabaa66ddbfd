/**
 * `npm run bench:wear`: flash wear. How many bytes reach the storage device per byte of payload
 * a client sends, with Weir as configured by default, counted at the device itself.
 *
 * Needs root and loop devices (wear-device.ts): a 2 GiB sparse image, attached with losetup,
 * ext4 formatted with the inode tables and journal written up front, mounted (noatime, as
 * Raspberry Pi OS mounts its root; BENCH_MOUNT_OPTIONS to change), and removed at the end, also
 * on error, SIGINT and SIGTERM. Without root or loop devices it says so on stderr and exits 2.
 *
 * Each scenario starts `weir start` fresh (new data dir on the mounted filesystem, the systemd
 * unit's V8 flags and environment, defaults plus MQTT, Kafka and admin listeners on 127.0.0.1:0),
 * warms up for BENCH_WARMUP_SECONDS (3) at the scenario's rate from a first generator, then
 * connects a second one and measures a fixed-rate load for BENCH_SECONDS (60):
 *   mqtt-10, mqtt-100, mqtt-1000     MQTT QoS 1, 100 B payloads, 20 connections, 10/100/1000 msg/s
 *                                    (mqtt-load.ts, open loop)
 *   kafka-100, kafka-1000            Kafka Produce acks=all, one 100 B record per request,
 *                                    BENCH_KAFKA_CONNECTIONS (4) connections, 100/1000 records/s
 *                                    (wear-kafka-load.ts, open loop)
 *   kafka-idempotent-1000            the same at 1000 records/s from idempotent producers (one
 *                                    producer id per connection, sequences in order): what the
 *                                    producer state's snapshots add
 * BENCH_SCENARIOS=mqtt-10,kafka-1000 picks a subset.
 *
 * The window: `sync -f` of the filesystem, 2 s settle, `sync -f`, then the device's sectors
 * written (/sys/block/loopN/stat field 7), Weir's /proc/PID/io write_bytes and its /metrics
 * counters are read, and the load starts; after it, a settle of BENCH_SETTLE_MS (6000: more than
 * ext4's 5 s journal commit interval) and `sync -f`, so late writeback is counted, then the same
 * three are read again. Before the window opens and before it closes, Weir's write queue must be
 * empty (a flush.ms window may hold records back). The generator's acked count and latency cover
 * the load alone (acks after the window are not counted: the line says when acks lagged); the
 * per-byte figures divide by the records Weir stored in the window (weir_store_records_appended_total),
 * 100 payload bytes each, which is every message sent in it.
 *
 * The floor (wear-floor.ts), in the same run, same filesystem: a preallocated file taking the
 * same payload bytes per commit, as many commits evenly spaced over as many seconds, as the
 * scenario showed, each commit a pwrite + fdatasync, measured through the same window.
 *
 * Beside the device count, each line has Weir's /proc/PID/io write_bytes over the same window
 * (what the kernel charged the process for dirtying page cache: no journal, and, with large
 * folios, a whole folio per small write) and the journal's commits (jbd2 transactions).
 *
 * One JSON line per scenario on stdout; progress on stderr. BENCH_WEIR_ENV=WEIR_X__Y=v,... adds
 * settings for the Weir under test (e.g. a flush policy), BENCH_NODE_OPTIONS / BENCH_UNIT_ENV
 * as in unit-runtime.ts, BENCH_COMMIT labels a build that is not a git checkout.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { envList } from './env-list.js';
import { bucketUpperUs, type LoadResult, type LoadSpec } from './mqtt-load.js';
import { unitEnvironment, unitNodeFlags } from './unit-runtime.js';
import { cannotRun, createScratchDevice, processWriteBytes, type ScratchDevice } from './wear-device.js';
import type { FloorResult, FloorSpec } from './wear-floor.js';
import type { KafkaLoadResult, KafkaLoadSpec } from './wear-kafka-load.js';

const env = process.env;
const seconds = Number(env['BENCH_SECONDS'] ?? 60);
const warmupSeconds = Number(env['BENCH_WARMUP_SECONDS'] ?? 3);
const settleMs = Number(env['BENCH_SETTLE_MS'] ?? 6000);
const SETTLE_BEFORE_MS = 2000;
const mountOptions = env['BENCH_MOUNT_OPTIONS'] ?? 'noatime';
const kafkaConnections = Number(env['BENCH_KAFKA_CONNECTIONS'] ?? 4);
const weirEnv = envList(env['BENCH_WEIR_ENV'] ?? '', 'BENCH_WEIR_ENV');
const PAYLOAD_BYTES = 100;
const MQTT_CONNECTIONS = 20;
/** Below this share of the asked rate, the line says the load was not delivered. */
const RATE_TOLERANCE = 0.98;
const READY_TIMEOUT_MS = 60_000;

const WEIR_BIN = join(import.meta.dirname, '../../src/cli/weir.js');
const MQTT_LOAD = join(import.meta.dirname, 'mqtt-load.js');
const KAFKA_LOAD = join(import.meta.dirname, 'wear-kafka-load.js');
const FLOOR = join(import.meta.dirname, 'wear-floor.js');
const REPO = join(import.meta.dirname, '../../..');

interface Scenario {
  id: string;
  protocol: 'mqtt' | 'kafka';
  rate: number;
  /** Kafka only: batches carry a producer id and sequence, as an idempotent producer's do. */
  idempotent?: boolean;
}

const SCENARIOS: Scenario[] = [
  { id: 'mqtt-10', protocol: 'mqtt', rate: 10 },
  { id: 'mqtt-100', protocol: 'mqtt', rate: 100 },
  { id: 'mqtt-1000', protocol: 'mqtt', rate: 1000 },
  { id: 'kafka-100', protocol: 'kafka', rate: 100 },
  { id: 'kafka-1000', protocol: 'kafka', rate: 1000 },
  { id: 'kafka-idempotent-1000', protocol: 'kafka', rate: 1000, idempotent: true },
];

function fail(message: string): never {
  process.stderr.write(`bench:wear: ${message}\n`);
  process.exit(2);
}

const wanted = (env['BENCH_SCENARIOS'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
for (const id of wanted) if (!SCENARIOS.some((s) => s.id === id)) fail(`BENCH_SCENARIOS: unknown scenario "${id}" (known: ${SCENARIOS.map((s) => s.id).join(', ')})`);
const selected = wanted.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => wanted.includes(s.id));
if (!(seconds > 0 && seconds <= 3600)) fail(`BENCH_SECONDS must be in (0, 3600], not ${env['BENCH_SECONDS']}`);
if (!(warmupSeconds > 0 && warmupSeconds <= 60)) fail(`BENCH_WARMUP_SECONDS must be in (0, 60], not ${env['BENCH_WARMUP_SECONDS']}`);
if (!(settleMs >= 0 && settleMs <= 60_000)) fail(`BENCH_SETTLE_MS must be in [0, 60000], not ${env['BENCH_SETTLE_MS']}`);
if (!(Number.isInteger(kafkaConnections) && kafkaConnections >= 1 && kafkaConnections <= 100)) fail('BENCH_KAFKA_CONNECTIONS must be 1..100');
if (!existsSync(WEIR_BIN)) fail(`${WEIR_BIN} is missing: run \`npm run build\` first (npm run bench:wear does)`);
const why = cannotRun();
if (why !== null) fail(`cannot measure flash wear here: ${why}. Nothing was measured.`);

// ---- cleanup: every child this process starts, and the scratch device ----

const children = new Set<ChildProcess>();
let device: ScratchDevice | undefined;

function track<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function killChildren(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

function cleanUp(): void {
  killChildren();
  device?.teardown();
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench:wear: ${signal}: stopping, removing the scratch device\n`);
    cleanUp();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}
process.once('exit', cleanUp);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms)))]).finally(() => clearTimeout(timer));
}

function log(message: string): void {
  process.stderr.write(`bench:wear: ${message}\n`);
}

// ---- Weir ----

interface Weir {
  pid: number;
  admin: string;
  mqtt: string;
  kafka: string;
  /** Running or how it exited, its last warnings and stderr. */
  state(): string;
  stop(): Promise<void>;
}

async function startWeir(dir: string): Promise<Weir> {
  const child = track(spawn(process.execPath, [...unitNodeFlags(), WEIR_BIN, 'start'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: env['PATH'] ?? '/usr/bin:/bin',
      HOME: env['HOME'] ?? '/tmp',
      ...unitEnvironment(),
      WEIR_STORE__DIR: dir,
      WEIR_KAFKA__LISTEN: '127.0.0.1:0',
      WEIR_MQTT__ENABLED: 'true',
      WEIR_MQTT__LISTEN: '127.0.0.1:0',
      WEIR_ADMIN__ENABLED: 'true',
      WEIR_ADMIN__LISTEN: '127.0.0.1:0',
      WEIR_LOG__PRETTY: 'false',
      ...weirEnv,
    },
  }));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-10_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  /** The last log lines at warn or above, for the error when Weir fails under load. */
  const warnings: string[] = [];
  // The ready line carries every listener's address; stdout keeps being read to the end.
  const ready = new Promise<{ admin: string; mqtt: string; kafka: string }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (/"level":(40|50|60)/.test(line)) {
        warnings.push(line.slice(0, 2000));
        if (warnings.length > 10) warnings.shift();
      }
      if (!line.includes('"ready"')) return;
      try {
        const entry = JSON.parse(line) as { msg?: string; admin?: string | null; mqtt?: string | null; kafka?: string | null };
        if (entry.msg !== 'ready') return;
        if (typeof entry.admin !== 'string' || typeof entry.mqtt !== 'string' || typeof entry.kafka !== 'string') {
          reject(new Error(`weir is ready without admin, MQTT or Kafka listener: ${line}`));
        } else {
          resolve({ admin: entry.admin, mqtt: entry.mqtt, kafka: entry.kafka });
        }
      } catch {
        // not a log line
      }
    });
    void exited.then(() => reject(new Error(`weir exited (${child.exitCode ?? child.signalCode}) before it was ready: ${stderr}`)));
  });
  const addresses = await withTimeout(ready, READY_TIMEOUT_MS, 'weir start').catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return {
    pid: child.pid!,
    ...addresses,
    state() {
      const status = child.exitCode === null && child.signalCode === null ? 'running' : `exited (${child.exitCode ?? child.signalCode})`;
      return `weir ${status}; last warnings: ${warnings.join('\n') || 'none'}; stderr: ${stderr.slice(-2000) || 'none'}`;
    },
    async stop() {
      child.kill('SIGTERM');
      await withTimeout(exited, 30_000, 'weir shutdown').catch(async () => {
        child.kill('SIGKILL');
        await exited;
      });
    },
  };
}

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));

interface StoreCounters {
  commits: number;
  records: number;
  bytes: number;
  /** Records waiting for or in a group commit (a flush.ms window holds them here). */
  queued: number;
}

async function storeCounters(admin: string): Promise<StoreCounters> {
  const res = await withTimeout(fetch(`http://${admin}/metrics`), 10_000, 'GET /metrics');
  const text = await res.text();
  const read = (name: string): number => {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (m === null) throw new Error(`/metrics has no ${name}`);
    return Number(m[1]);
  };
  return {
    commits: read('weir_store_commits_total'),
    records: read('weir_store_records_appended_total'),
    bytes: read('weir_store_bytes_appended_total'),
    queued: read('weir_store_write_queue_records'),
  };
}

/** Waits until no record waits for a commit (a flush.ms window may hold some for a while). */
async function drained(admin: string, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await storeCounters(admin)).queued > 0) {
    if (Date.now() > deadline) throw new Error(`${what}: records still wait for a commit after 60 s`);
    await sleep(100);
  }
}

// ---- load generators ----

type Result = LoadResult & Partial<Pick<KafkaLoadResult, 'sent' | 'errors' | 'firstError'>>;

function startGenerator(scenario: Scenario, weir: Weir, measureMs: number, name: string): { child: ChildProcess; connected: Promise<void>; result: Promise<Result> } {
  let child: ChildProcess;
  if (scenario.protocol === 'mqtt') {
    const spec: LoadSpec = { port: portOf(weir.mqtt), connections: MQTT_CONNECTIONS, inflight: 0, bytes: PAYLOAD_BYTES, warmupMs: 0, measureMs, rate: scenario.rate, name };
    child = track(spawn(process.execPath, [MQTT_LOAD, JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'inherit'] }));
  } else {
    const spec: KafkaLoadSpec = { port: portOf(weir.kafka), connections: kafkaConnections, bytes: PAYLOAD_BYTES, topic: 'wear', partition: 0, warmupMs: 0, measureMs, rate: scenario.rate, name, idempotent: scenario.idempotent === true };
    child = track(spawn(process.execPath, [KAFKA_LOAD], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...env, WEAR_KAFKA_LOAD: JSON.stringify(spec) } }));
  }
  let onConnected!: () => void;
  const connected = new Promise<void>((resolve) => (onConnected = resolve));
  const result = new Promise<Result>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'connected') onConnected();
      else if (line.startsWith('{')) resolve(JSON.parse(line) as Result);
    });
    child.once('exit', (code, signal) => reject(new Error(`${scenario.protocol} generator ${name} exited (${code ?? signal}) without a result`)));
  });
  result.catch(() => undefined);
  return {
    child,
    connected: withTimeout(Promise.race([connected, result.then(() => undefined)]), 30_000, `${name} connecting`),
    result: withTimeout(result, measureMs + 60_000, `${name} result`),
  };
}

function percentileMs(histogram: number[], q: number): number | null {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    if (seen >= total * q) return Math.round(bucketUpperUs(i)) / 1000;
  }
  return null;
}

// ---- the measurement window ----

interface Marks {
  deviceBytes: number;
  processWriteBytes: number | null;
  journalTransactions: number | null;
}

function marks(dev: ScratchDevice, pid: number): Marks {
  return { deviceBytes: dev.bytesWritten(), processWriteBytes: processWriteBytes(pid), journalTransactions: dev.journalTransactions() };
}

const delta = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);

/** Before a window: flush, let the device go quiet, flush again, read. */
async function openWindow(dev: ScratchDevice, pid: number): Promise<Marks> {
  dev.sync();
  await sleep(SETTLE_BEFORE_MS);
  dev.sync();
  return marks(dev, pid);
}

/** After a window: wait past ext4's journal commit interval, flush, read. */
async function closeWindow(dev: ScratchDevice, pid: number): Promise<Marks> {
  await sleep(settleMs);
  dev.sync();
  return marks(dev, pid);
}

// ---- the floor ----

interface Floor {
  result: FloorResult;
  deviceBytes: number;
  journalCommits: number | null;
  bytesPerCommit: number;
}

async function runFloor(dev: ScratchDevice, bytesPerCommit: number, commits: number, floorSeconds: number): Promise<Floor> {
  const file = join(dev.mount, 'floor.dat');
  const MiB = 1024 * 1024;
  const fileBytes = Math.ceil((bytesPerCommit * commits * 1.1 + MiB) / MiB) * MiB;
  const spec: FloorSpec = { file, bytesPerCommit, commits, seconds: floorSeconds, fileBytes };
  const child = track(spawn(process.execPath, [FLOOR], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...env, WEAR_FLOOR: JSON.stringify(spec) } }));
  try {
    let onReady!: () => void;
    const ready = new Promise<void>((resolve) => (onReady = resolve));
    const result = new Promise<FloorResult>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line === 'ready') onReady();
        else if (line.startsWith('{')) resolve(JSON.parse(line) as FloorResult);
      });
      child.once('exit', (code, signal) => reject(new Error(`floor exited (${code ?? signal}) without a result`)));
    });
    result.catch(() => undefined);
    await withTimeout(Promise.race([ready, result.then(() => undefined)]), 120_000, 'floor preallocation');
    const before = await openWindow(dev, child.pid!);
    child.stdin!.write('go\n');
    const floor = await withTimeout(result, floorSeconds * 1000 + 60_000, 'floor result');
    const after = await closeWindow(dev, child.pid!);
    return { result: floor, deviceBytes: after.deviceBytes - before.deviceBytes, journalCommits: delta(before.journalTransactions, after.journalTransactions), bytesPerCommit };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(file, { force: true });
  }
}

// ---- one scenario ----

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const sig = (x: number) => (x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(4)));

/**
 * The commit the build was made from, and whether the code under test (src, bridge, device) had
 * changes not in it: "62caffa", or "62caffa+uncommitted(src/store)". BENCH_COMMIT labels a build
 * that is not a git checkout (e.g. a `git archive` of a commit).
 */
function commitOfBuild(): string {
  const label = env['BENCH_COMMIT'];
  if (label !== undefined && label !== '') return label;
  const git = (...args: string[]) => execFileSync('git', ['-C', REPO, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const head = git('rev-parse', '--short=7', 'HEAD');
    const changed = git('status', '--porcelain', '--', 'src', 'bridge', 'device')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(3).split('/').slice(0, 2).join('/'));
    return changed.length === 0 ? head : `${head}+uncommitted(${[...new Set(changed)].join(',')})`;
  } catch {
    return 'unknown (not a git checkout: set BENCH_COMMIT)';
  }
}

async function runScenario(dev: ScratchDevice, scenario: Scenario, commit: string): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(dev.mount, `weir-${scenario.id}-`));
  let load: Result;
  let window: { before: Marks; after: Marks; counters0: StoreCounters; counters1: StoreCounters };
  log(`${scenario.id}: starting weir in ${dir}`);
  const weir = await startWeir(dir);
  try {
    const warm = startGenerator(scenario, weir, warmupSeconds * 1000, `${scenario.id}-warmup`);
    await warm.connected;
    warm.child.stdin!.write('go\n');
    await warm.result;

    const gen = startGenerator(scenario, weir, seconds * 1000, scenario.id);
    await gen.connected;
    await drained(weir.admin, 'after the warm-up');
    if ((await storeCounters(weir.admin)).records === 0) throw new Error(`${scenario.id}: nothing was stored during the ${warmupSeconds} s warm-up`);
    const before = await openWindow(dev, weir.pid);
    const counters0 = await storeCounters(weir.admin);
    log(`${scenario.id}: measuring ${seconds} s at ${scenario.rate}/s`);
    gen.child.stdin!.write('go\n');
    load = await gen.result;
    // Records of the window still held for a flush are committed (and counted) before the settle.
    await drained(weir.admin, 'after the load');
    const after = await closeWindow(dev, weir.pid);
    const counters1 = await storeCounters(weir.admin);
    window = { before, after, counters0, counters1 };
  } catch (err) {
    throw new Error(`${scenario.id}: ${(err as Error).message}\n${weir.state()}`, { cause: err });
  } finally {
    await weir.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const deviceBytes = window.after.deviceBytes - window.before.deviceBytes;
  const commits = window.counters1.commits - window.counters0.commits;
  // Every message sent in the window, acked in it or just after: what Weir wrote to the device for.
  const recordsStored = window.counters1.records - window.counters0.records;
  const payloadBytes = recordsStored * PAYLOAD_BYTES;
  const rateAchieved = load.acked / load.seconds;
  const writeBytes = delta(window.before.processWriteBytes, window.after.processWriteBytes);

  const expected = scenario.rate * load.seconds;
  // The last message or two of the window may be sent or acked just after it closes.
  const short = (n: number, of: number) => n < of * RATE_TOLERANCE - 2;
  const p99 = percentileMs(load.histogram, 0.99);
  const problems: string[] = [];
  if (load.sent !== undefined && short(load.sent, expected)) problems.push(`the generator sent only ${load.sent} of ${Math.round(expected)}`);
  if (short(recordsStored, expected)) problems.push(`Weir stored ${recordsStored} of the ${Math.round(expected)} messages asked for`);
  if (load.skipped > 0) problems.push(`${load.skipped} sends skipped (1000 outstanding on a connection)`);
  if (load.errors !== undefined && load.errors > 0) problems.push(`${load.errors} Produce errors (first error code ${load.firstError})`);
  // Acks that keep pace but come D ms late miss the window's last D ms (a flush.ms window does
  // that by design); fewer than that is acks falling behind the load.
  const ackableInWindow = expected - (scenario.rate * (p99 ?? 0)) / 1000;
  if (short(load.acked, ackableInWindow)) problems.push(`acks lagged: ${load.acked} acked in the window, ${recordsStored} stored, ack p99 ${p99} ms`);
  if (load.acked > recordsStored + 2) problems.push(`${load.acked} acked but the store counted ${recordsStored} records`);

  let floor: Floor | null = null;
  const floorProblems: string[] = [];
  if (commits > 0 && payloadBytes > 0) {
    const bytesPerCommit = Math.max(1, Math.round(payloadBytes / commits));
    log(`${scenario.id}: floor, ${commits} commits of ${bytesPerCommit} B in ${round(load.seconds, 1)} s`);
    floor = await runFloor(dev, bytesPerCommit, commits, load.seconds);
    if (floor.result.maxLateMs > 1000) floorProblems.push(`the floor fell behind its cadence (a commit ${Math.round(floor.result.maxLateMs)} ms late)`);
  } else {
    floorProblems.push('no commits or no payload in the window: no floor');
  }
  const perPayloadByte = payloadBytes > 0 ? deviceBytes / payloadBytes : null;
  const floorPerPayloadByte = floor === null || floor.result.payloadBytes === 0 ? null : floor.deviceBytes / floor.result.payloadBytes;

  return {
    scenario: scenario.protocol === 'mqtt'
      ? `mqtt-qos1/${PAYLOAD_BYTES}B/${MQTT_CONNECTIONS}c/${scenario.rate}msgps`
      : `kafka-acks-all${scenario.idempotent === true ? '-idempotent' : ''}/${PAYLOAD_BYTES}B/1-record-per-request/${kafkaConnections}c/${scenario.rate}recps`,
    commit,
    rateAsked: scenario.rate,
    rateAchieved: round(rateAchieved, 1),
    rateStored: round(recordsStored / load.seconds, 1),
    rateOk: problems.length === 0,
    note: [...(problems.length === 0 ? [] : [`${problems.join('; ')}: check the load generator is not the bottleneck`]), ...floorProblems].join('; ') || undefined,
    seconds: round(load.seconds, 2),
    messagesAcked: load.acked,
    recordsStored,
    payloadBytes,
    deviceBytes,
    deviceBytesPerPayloadByte: perPayloadByte === null ? null : round(perPayloadByte, 1),
    floorBytesPerPayloadByte: floorPerPayloadByte === null ? null : round(floorPerPayloadByte, 1),
    vsFloor: perPayloadByte === null || floorPerPayloadByte === null ? null : round(perPayloadByte / floorPerPayloadByte, 2),
    deviceBytesPerMessage: recordsStored > 0 ? Math.round(deviceBytes / recordsStored) : null,
    deviceBytesPerCommit: commits > 0 ? Math.round(deviceBytes / commits) : null,
    commits,
    messagesPerCommit: commits > 0 ? round(recordsStored / commits, 2) : null,
    journalCommits: delta(window.before.journalTransactions, window.after.journalTransactions),
    gbPerDay: round((deviceBytes / load.seconds) * 86_400 / 1e9, 2),
    ackP50Ms: percentileMs(load.histogram, 0.5),
    ackP99Ms: p99,
    processWriteBytes: writeBytes,
    processWriteBytesVsDevice: writeBytes === null || deviceBytes === 0 ? null : round(writeBytes / deviceBytes, 3),
    floor: floor === null ? null : {
      commits: floor.result.commits,
      bytesPerCommit: floor.bytesPerCommit,
      payloadBytes: floor.result.payloadBytes,
      deviceBytes: floor.deviceBytes,
      deviceBytesPerCommit: floor.result.commits > 0 ? Math.round(floor.deviceBytes / floor.result.commits) : null,
      journalCommits: floor.journalCommits,
      processWriteBytes: floor.result.processWriteBytes,
      maxCommitMs: floor.result.maxCommitMs,
      maxLateMs: floor.result.maxLateMs,
    },
    generatorCpu: round(load.cpu, 3),
    ...(scenario.protocol === 'kafka' ? { sent: load.sent, errors: load.errors } : {}),
    skipped: load.skipped,
  };
}

// ---- main ----

let exitCode = 0;
try {
  const commit = commitOfBuild();
  try {
    device = createScratchDevice(mountOptions);
  } catch (err) {
    fail(`cannot set up the scratch loop device (losetup, mkfs.ext4, mount): ${(err as Error).message.trim()}. Nothing was measured.`);
  }
  log(`scratch filesystem: ${device.device} (${process.platform} ${execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()}), ext4 mounted on ${device.mount} -o ${mountOptions || 'defaults'}; build ${commit}`);
  // The device must be quiet on its own, or every count below is polluted.
  const idle0 = await openWindow(device, process.pid);
  const idle1 = await closeWindow(device, process.pid);
  const idleBytes = idle1.deviceBytes - idle0.deviceBytes;
  log(`idle filesystem: ${idleBytes} bytes written in ${(settleMs / 1000).toFixed(0)} s${idleBytes === 0 ? '' : ' (not quiet: the counts below include background writes)'}`);
  for (const scenario of selected) {
    const line = await runScenario(device, scenario, commit);
    console.log(JSON.stringify(line));
  }
} catch (err) {
  process.stderr.write(`bench:wear: failed: ${(err as Error).stack ?? String(err)}\n`);
  exitCode = 1;
} finally {
  cleanUp();
}
process.exit(exitCode);
