/**
 * The mirror step of `npm run test:arm`: the emulated Weir is the edge (the Pi), with one
 * at-least-once mirror rule left at its defaults, so it sends with Weir's own producer (pure
 * TypeScript), not librdkafka, which the ARM install leaves out because it compiles at install.
 * The upstream (the datacenter's Kafka) is a second Weir running natively on x86 from dist/.
 *
 * Records go into the edge over Kafka (kcat, one run per partition); once the edge's
 * `GET /api/mirror` shows every record acknowledged upstream, the upstream topic is read with
 * kcat: each record there once, in its partition's order, with its key and its `weir.origin`
 * header naming the edge's device, topic, partition and offset.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { check, kcatConsume, ROOT, sh, within } from './common.mjs';

const WEIR_CLI = join(ROOT, 'dist/src/cli/weir.js');
const TOPIC = 'sensors.arm';
const PARTITIONS = 2;
const RECORDS_PER_PARTITION = 1000;
/** Lag 0 within this, or the step fails with the last status the edge gave. */
const CATCH_UP_TIMEOUT_MS = 60_000;

/** The upstream: a native `weir start` on loopback (Kafka only) in a temp dir; `stop()` removes both. */
export async function startUpstream() {
  const dir = mkdtempSync(join(tmpdir(), 'weir-arm-upstream-'));
  const child = spawn(process.execPath, [WEIR_CLI, 'start'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME ?? '/tmp',
      WEIR_STORE__DIR: dir,
      WEIR_KAFKA__LISTEN: '127.0.0.1:0',
      WEIR_MQTT__ENABLED: 'false',
      WEIR_ADMIN__ENABLED: 'false',
      WEIR_LOG__PRETTY: 'false',
      // More partitions than the edge's topic: `partitioning: same` needs at least as many.
      WEIR_TOPIC_DEFAULTS__PARTITIONS: '4',
    },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const ready = new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes('"msg":"ready"')) resolve(JSON.parse(line));
    });
    void exited.then(([code, signal]) => reject(new Error(`upstream weir exited (${code ?? signal}) before ready: ${stderr}`)));
  });
  try {
    const { kafka } = await within(30_000, ready, 'the native upstream Weir ready');
    return { kafka, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The edge's mirror config (README, "Mirror"): one upstream, one rule for `sensors.*`, every option at its default. */
export function edgeMirrorEnv(deviceId, upstreamKafka) {
  return {
    WEIR_DEVICE__ID: deviceId,
    WEIR_ADMIN__ENABLED: 'true',
    WEIR_ADMIN__LISTEN: '127.0.0.1:0',
    WEIR_MIRROR__UPSTREAMS: JSON.stringify([{ name: 'central', bootstrap_servers: [upstreamKafka] }]),
    WEIR_MIRROR__RULES: JSON.stringify([{ name: 'pi', upstream: 'central', topics: ['sensors.*'] }]),
  };
}

/** The edge's rule once every record of TOPIC is acknowledged upstream; fails with the last status after the timeout. */
async function caughtUp(admin) {
  const deadline = Date.now() + CATCH_UP_TIMEOUT_MS;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await (await fetch(`http://${admin}/api/mirror`)).json();
      const rule = last.rules[0];
      const parts = rule?.partitions.filter((p) => p.topic === TOPIC) ?? [];
      const cursors = parts.reduce((n, p) => n + p.cursor, 0);
      if (parts.length === PARTITIONS && cursors === PARTITIONS * RECORDS_PER_PARTITION && parts.every((p) => p.lagRecords === 0)) return rule;
    } catch {
      // the admin listener answers once Weir is ready; a failed poll is retried
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`FAILED: mirror lag not 0 within ${CATCH_UP_TIMEOUT_MS / 1000} s; last status: ${JSON.stringify(last)}`);
}

/** What partition `p` of the upstream topic must hold, in order: `<partition> <key> <value> <headers>` as kcat prints them. */
function expectedUpstream(deviceId, p) {
  return Array.from({ length: RECORDS_PER_PARTITION }, (_, i) => `${p} key-${p} ${p}-${i} weir.origin=${deviceId}/${TOPIC}/${p}/${i}`);
}

export async function mirrorRoundTrip(weir, proc, deviceId, upstream) {
  // The edge's topic, through its Kafka listener with the native CLI (kcat cannot create topics).
  sh(process.execPath, [WEIR_CLI, 'topics', 'create', '--topic', TOPIC, '--partitions', String(PARTITIONS), '--bootstrap-server', weir.kafka], { env: { PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp' } });
  const began = Date.now();
  for (let p = 0; p < PARTITIONS; p++) {
    const input = Array.from({ length: RECORDS_PER_PARTITION }, (_, i) => `key-${p}:${p}-${i}\n`).join('');
    sh('kcat', ['-b', weir.kafka, '-P', '-t', TOPIC, '-p', String(p), '-K', ':', '-q'], { input, stdio: ['pipe', 'pipe', 'inherit'], timeout: 60_000 });
  }
  const producedMs = Date.now() - began;
  const rule = await Promise.race([caughtUp(weir.admin), proc.failed]);
  const total = PARTITIONS * RECORDS_PER_PARTITION;
  check(rule.connected, `mirror: ${total} records into ${TOPIC} (${PARTITIONS} partitions) in ${producedMs} ms, lag 0 at the edge after ${Date.now() - began} ms; rule ${rule.name} connected, ${rule.acked} acknowledged, last error ${rule.lastError?.message ?? 'none'}`);
  const upstreamTopic = `edge.${deviceId}.${TOPIC}`;
  const got = kcatConsume(upstream.kafka, upstreamTopic, '%p %k %s %h\\n').toString().trim().split('\n');
  const bad = [];
  for (let p = 0; p < 4; p++) {
    const want = p < PARTITIONS ? expectedUpstream(deviceId, p) : [];
    const have = got.filter((l) => l.startsWith(`${p} `));
    const at = want.findIndex((w, i) => have[i] !== w);
    if (have.length !== want.length || at >= 0) bad.push(`partition ${p}: ${have.length} records, expected ${want.length}${at >= 0 ? `; #${at} is "${have[at]}", expected "${want[at]}"` : ''}`);
  }
  check(bad.length === 0, `upstream ${upstreamTopic}: ${got.length}/${total} records, each once, in order per partition, with key and weir.origin header${bad.length ? `: ${bad.join('; ')}` : ''}`);
  const missing = proc.lines.filter((l) => JSON.stringify(l).includes('MIRROR_CLIENT_MISSING'));
  check(missing.length === 0 && !proc.stderr().includes('MIRROR_CLIENT_MISSING'), `edge log has no MIRROR_CLIENT_MISSING (${proc.lines.length} log lines)`);
}
