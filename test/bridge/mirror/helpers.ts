/**
 * The mirror's test rig: the upstream is a second Weir process (its Kafka listener plays the
 * central cluster) behind the fault proxy; the edge is a real Weir (in this process via
 * startWeir, or as a child for the kill test) with a mirror rule pointing at the proxy.
 *
 * What arrived upstream is read from the upstream's own data dir once it has stopped (the store
 * has one writer), so the check sees exactly what the upstream made durable.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { pino, type Logger } from 'pino';
import { loadConfig } from '../../../src/config/load.js';
import { decodeRecordBatch, encodeRecordBatch } from '../../../src/kafka/protocol/record-batch.js';
import { startWeir, type RunningWeir } from '../../../src/main.js';
import { ORIGIN_HEADERS, parseCompactOrigin } from '../../../bridge/mirror/origin.js';
import type { MirrorStatus } from '../../../bridge/mirror/status.js';
import { openTestStore, tempDir } from '../../helpers/store.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { assertBuilt, spawnWeir, waitForLog } from '../../cli/helpers.js';

export interface Upstream {
  readonly dir: string;
  readonly proxy: FaultProxy;
  child: ChildProcessWithoutNullStreams | undefined;
  /** Starts (or restarts) the upstream Weir; the proxy is pointed at its new port. */
  start(): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it (if running) and reads every record of `topic` from its data dir. */
  records(topic: string): Promise<UpRecord[]>;
  cleanup(): Promise<void>;
}

export interface UpRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
  headers: Record<string, string>;
}

export async function startUpstream(env: Record<string, string> = {}): Promise<Upstream> {
  const tmp = tempDir('weir-upstream-');
  const proxy = await startFaultProxy();
  const up: Upstream = {
    dir: tmp.dir,
    proxy,
    child: undefined,
    async start() {
      const child = spawnWeir(['start'], {
        cwd: tmp.dir,
        env: {
          WEIR_STORE__DIR: tmp.dir,
          WEIR_MQTT__ENABLED: 'false',
          WEIR_ADMIN__ENABLED: 'false',
          WEIR_KAFKA__ADVERTISED_PORT: String(proxy.port),
          WEIR_TOPIC_DEFAULTS__PARTITIONS: '4',
          WEIR_LOG__LEVEL: 'info',
          ...env,
        },
      });
      const ready = await waitForLog(child, 'ready');
      proxy.target = Number(String(ready.kafka).split(':').pop());
      up.child = child;
      child.stdout.resume();
    },
    async stop(signal = 'SIGTERM') {
      const child = up.child;
      if (child === undefined) return;
      up.child = undefined;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },
    async records(topic) {
      await up.stop();
      const store = await openTestStore(tmp.dir);
      try {
        if (!store.hasTopic(topic)) return [];
        const out: UpRecord[] = [];
        for (const p of store.describeTopic(topic).partitions) {
          let offset = p.logStartOffset;
          while (offset < p.highWatermark) {
            const read = store.read(topic, p.partition, offset, 4 * 1024 * 1024);
            for (const batch of read.batches) {
              for (const r of decodeRecordBatch(batch).records) {
                if (r.offset < offset) continue;
                const headers: Record<string, string> = {};
                for (const h of r.headers) headers[h.key] = h.value?.toString() ?? '';
                out.push({ partition: p.partition, offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null, timestamp: r.timestamp, headers });
                offset = r.offset + 1;
              }
            }
          }
        }
        return out;
      } finally {
        await store.close();
      }
    },
    async cleanup() {
      await up.stop('SIGKILL');
      await proxy.close();
      tmp.cleanup();
    },
  };
  await up.start();
  return up;
}

export interface RuleOverrides {
  [key: string]: unknown;
}

/** What one mirror test runs against: the upstream behind its proxy, and a temp dir for the edge. */
export interface MirrorTestSetUp {
  upstream: Upstream;
  edgeDir: { dir: string; cleanup(): void };
}

/** Before a mirror test: the built `weir` is there, an upstream is started (with `env`), the edge's dir made. */
export async function setUpMirrorTest(env: Record<string, string> = {}): Promise<MirrorTestSetUp> {
  assertBuilt();
  return { upstream: await startUpstream(env), edgeDir: tempDir('weir-edge-') };
}

/** After a mirror test: the edge shut down if it was started, then the upstream and both dirs removed. */
export async function tearDownMirrorTest(edge: RunningWeir | undefined, { upstream, edgeDir }: MirrorTestSetUp): Promise<void> {
  await edge?.shutdown('test end');
  await upstream.cleanup();
  edgeDir.cleanup();
}

/** The edge's mirror config as WEIR_* variables: one upstream through the proxy, one rule. */
export function mirrorEnv(proxyPort: number, rule: RuleOverrides = {}, extra: Record<string, string> = {}): Record<string, string> {
  return {
    WEIR_DEVICE__ID: 'edge-1',
    WEIR_MIRROR__UPSTREAMS: JSON.stringify([{ name: 'central', bootstrap_servers: [`127.0.0.1:${proxyPort}`] }]),
    WEIR_MIRROR__RULES: JSON.stringify([{ name: 'r1', upstream: 'central', topics: ['sensors.*'], upstream_topic: 'edge.{device}.{topic}', linger_ms: 5, ...rule }]),
    WEIR_MIRROR__BACKOFF_MIN_MS: '100',
    WEIR_MIRROR__BACKOFF_MAX_MS: '1000',
    ...extra,
  };
}

export const quietLogger = pino({ level: process.env.WEIR_TEST_LOG ?? 'silent' });

/** A real Weir in this process (store, listeners off, the mirror), from WEIR_* variables. */
export async function startEdge(dir: string, env: Record<string, string>, logger: Logger = quietLogger): Promise<RunningWeir> {
  const config = loadConfig({
    env: {
      WEIR_STORE__DIR: dir,
      WEIR_MQTT__ENABLED: 'false',
      WEIR_KAFKA__ENABLED: 'false',
      WEIR_ADMIN__LISTEN: '127.0.0.1:0',
      WEIR_STORE__RETENTION_CHECK_INTERVAL_MS: '0',
      WEIR_STORE__DISK_BUDGET_BYTES: '1GiB',
      ...env,
    },
    cwd: dir,
  });
  return startWeir(config, logger);
}

/**
 * Writes to partition 0 of `topic` at the edge as a transactional producer's Produce and the
 * coordinator's markers would store them (client-built batches); each resolves to the base
 * offset the store gave.
 */
export function localTransactionWriter(weir: RunningWeir, topic: string) {
  const sequences = new Map<number, number>();
  return {
    plain: async (value: string) => (await weir.store.appendRecords(topic, 0, [{ key: Buffer.from('k'), value: Buffer.from(value) }])).baseOffset,
    transactional: async (producerId: number, values: string[]) => {
      const seq = sequences.get(producerId) ?? 0;
      sequences.set(producerId, seq + values.length);
      const records = values.map((v) => ({ key: Buffer.from('k'), value: Buffer.from(v) }));
      const batch = encodeRecordBatch({ baseOffset: 0, records, producerId, producerEpoch: 0, baseSequence: seq, transactional: true });
      return (await weir.store.appendBatches(topic, 0, batch)).baseOffset;
    },
    end: async (producerId: number, commit: boolean) =>
      (await weir.store.appendTransactionMarker(topic, 0, { producerId, producerEpoch: 0, commit, coordinatorEpoch: 0 })).baseOffset,
  };
}

/** A logger that keeps every JSON line (info and up) for a test to read. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

export async function mirrorStatusOf(weir: RunningWeir): Promise<MirrorStatus> {
  const a = weir.adminAddress!;
  const res = await fetch(`http://127.0.0.1:${a.port}/api/mirror`);
  return (await res.json()) as MirrorStatus;
}

/** An edge `weir start` child process (the kill tests): its store in `dir`, 2 partitions a topic, the mirror from `mirror`. */
export async function startEdgeProcess(dir: string, mirror: Record<string, string>): Promise<{ child: ChildProcessWithoutNullStreams; admin: string; kafka: string }> {
  const child = spawnWeir(['start'], {
    cwd: dir,
    env: { WEIR_STORE__DIR: dir, WEIR_MQTT__ENABLED: 'false', WEIR_TOPIC_DEFAULTS__PARTITIONS: '2', WEIR_LOG__LEVEL: 'info', ...mirror },
  });
  const ready = await waitForLog(child, 'ready');
  child.stdout.resume();
  return { child, admin: String(ready.admin), kafka: String(ready.kafka) };
}

/** The mirror status of a Weir process from its admin address. */
export async function mirrorStatusAt(admin: string): Promise<MirrorStatus> {
  return (await (await fetch(`http://${admin}/api/mirror`)).json()) as MirrorStatus;
}

/** Polls until `check` holds (status from the admin API), or fails with the last status. */
export async function waitForStatus(read: () => Promise<MirrorStatus>, check: (s: MirrorStatus) => boolean, timeoutMs = 30_000): Promise<MirrorStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: MirrorStatus | undefined;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (check(last)) return last;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`mirror status condition not met in ${timeoutMs} ms; last status: ${JSON.stringify(last, null, 1)}`);
}

export function totalLag(s: MirrorStatus): number {
  return s.rules.reduce((n, r) => n + r.partitions.reduce((m, p) => m + p.lagRecords, 0), 0);
}

/** All caught up: every partition's cursor at its log end, and at least `partitions` of them. */
export function caughtUp(partitions: number) {
  return (s: MirrorStatus): boolean => s.rules[0] !== undefined && s.rules[0].partitions.length >= partitions && totalLag(s) === 0;
}

/** Where an upstream record came from, read from either origin header style (origin_headers: compact or four). */
export function originOf(r: Pick<UpRecord, 'headers'>): { device: string; topic: string; partition: number; offset: number } {
  const compact = r.headers[ORIGIN_HEADERS.compact];
  if (compact !== undefined) {
    const o = parseCompactOrigin(compact);
    if (o === undefined) throw new Error(`malformed ${ORIGIN_HEADERS.compact} header: ${compact}`);
    return o;
  }
  const device = r.headers[ORIGIN_HEADERS.device];
  if (device === undefined) throw new Error(`record without origin headers: ${JSON.stringify(r.headers)}`);
  return { device, topic: r.headers[ORIGIN_HEADERS.topic]!, partition: Number(r.headers[ORIGIN_HEADERS.partition]), offset: Number(r.headers[ORIGIN_HEADERS.offset]) };
}

/**
 * Checks what arrived upstream against what the edge holds: per origin partition, after dropping
 * duplicates by the README's recipe (skip an offset ≤ the highest seen), the offsets are exactly
 * 0..n-1 in order. Returns the number of duplicates dropped.
 */
export function checkArrived(records: UpRecord[], expected: Map<number, number>, device = 'edge-1'): { duplicates: number; byPartition: Map<number, UpRecord[]> } {
  const highest = new Map<string, number>();
  const byPartition = new Map<number, UpRecord[]>();
  let duplicates = 0;
  // Upstream partitions are read one after another; origin order is within one upstream partition.
  for (const r of records) {
    const origin = originOf(r);
    const key = `${origin.device}|${origin.topic}|${origin.partition}`;
    const offset = origin.offset;
    if (origin.device !== device) throw new Error(`record from device ${origin.device}, expected ${device}: ${JSON.stringify(r.headers)}`);
    if (offset <= (highest.get(key) ?? -1)) {
      duplicates++;
      continue;
    }
    if (offset !== (highest.get(key) ?? -1) + 1) throw new Error(`gap or reorder in ${key}: ${offset} after ${highest.get(key) ?? -1}`);
    highest.set(key, offset);
    const p = origin.partition;
    let list = byPartition.get(p);
    if (list === undefined) byPartition.set(p, (list = []));
    list.push(r);
  }
  for (const [p, n] of expected) {
    const got = byPartition.get(p)?.length ?? 0;
    if (got !== n) throw new Error(`origin partition ${p}: ${got} distinct records upstream, expected ${n}`);
  }
  return { duplicates, byPartition };
}
