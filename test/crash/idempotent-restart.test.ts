/**
 * Idempotence survives a SIGKILL (KIP-98: a re-sent batch is never written twice). `weir start`
 * runs in a child process on a fixed port, so the producers' reconnects find the restarted Weir
 * where the killed one was. Three idempotent producers with acks=all (idempotent-producers.ts:
 * librdkafka through kafka-javascript, librdkafka 2.0.2 through python3-confluent-kafka, kafkajs)
 * send numbered values to four partitions in batches of several records, with batches in flight,
 * and keep their producer id and sequences across the restarts, as clients do. We SIGKILL Weir
 * at random moments and restart it at once, KILLS times. A batch written just before a kill but
 * not acknowledged is sent again with the same sequence numbers after the restart: only a Weir
 * that rebuilt its producers' state from the log recognises it (Kafka rebuilds it from snapshots
 * plus the log's tail). Then kcat reads the topic back from the beginning, and every acknowledged
 * value must be there exactly once, no value more than once, and each producer's values in
 * order on each partition.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { freeFixedPort } from '../helpers/fixed-port.js';
import { requireKcat, requireTool } from '../helpers/required-tools.js';
import { tempDir } from '../helpers/store.js';
import { startWeirProcess, WEIR_BIN, type WeirProcess } from '../helpers/weir-process.js';
import {
  PYTHON, startKafkajsProducer, startLibrdkafkaProducer, startPythonProducer, type ProducerTally, type RunningProducer,
} from './idempotent-producers.js';

const TOPIC = 'idempotent';
const PARTITIONS = 4;
const KILLS = 12;
/**
 * Values a librdkafka producer may have sent and not yet seen reported: enough for its 5
 * Produce requests in flight per connection to be full at most kills.
 */
const WINDOW = 1000;
/** kafkajs has one request in flight: a send of this many values, 50 a partition. */
const KAFKAJS_CHUNK = 200;

let running: WeirProcess | undefined;
afterAll(async () => {
  await running?.kill();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out).toString());
      else reject(new Error(`${cmd} ${args.join(' ')} exited (${code ?? signal}): ${stderr}`));
    });
  });
}

interface Stored {
  partition: number;
  offset: number;
  value: string;
}

/**
 * The whole topic, over Fetch: kcat from the beginning of every partition to its end, every
 * record stored (read_uncommitted; librdkafka's default, read_committed, would be the same
 * without transactions, but this checks what is stored, not what a consumer is let see).
 */
async function readTopic(bootstrap: string): Promise<Stored[]> {
  const args = ['-b', bootstrap, '-C', '-t', TOPIC, '-o', 'beginning', '-e', '-q', '-X', 'isolation.level=read_uncommitted', '-f', '%p %o %s\n'];
  const out = await run('kcat', args, 60_000);
  return out.split('\n').filter(Boolean).map((line) => {
    const [partition, offset, value] = line.split(' ');
    return { partition: Number(partition), offset: Number(offset), value: value! };
  });
}

interface Findings {
  acknowledged: number;
  stored: number;
  /** Copies beyond the first of any value. */
  duplicates: number;
  missing: number;
  outOfOrder: number;
  examples: string[];
}

/** Checks one producer's values in the topic against what it was told was acknowledged. */
function check(tally: ProducerTally, records: Stored[]): Findings {
  const mine = records.filter((r) => r.value.startsWith(`${tally.prefix}-`));
  const copies = new Map<number, number>();
  const lastOnPartition = new Map<number, number>();
  const f: Findings = { acknowledged: tally.acked.length, stored: mine.length, duplicates: 0, missing: 0, outOfOrder: 0, examples: [] };
  const note = (s: string) => f.examples.length < 5 && f.examples.push(`${tally.name}: ${s}`);
  for (const r of [...mine].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    const n = Number(r.value.slice(tally.prefix.length + 1));
    if (n % PARTITIONS !== r.partition) note(`${r.value} is on partition ${r.partition}, sent to ${n % PARTITIONS}`);
    const seen = (copies.get(n) ?? 0) + 1;
    copies.set(n, seen);
    if (seen > 1) {
      f.duplicates++;
      note(`${r.value} stored ${seen} times (again at ${r.partition}@${r.offset})`);
    }
    const last = lastOnPartition.get(r.partition) ?? -1;
    if (n <= last) f.outOfOrder++;
    lastOnPartition.set(r.partition, Math.max(last, n));
  }
  for (const n of tally.acked) {
    if (!copies.has(n)) {
      f.missing++;
      note(`acknowledged ${tally.prefix}-${n} is missing`);
    }
  }
  return f;
}

/** Waits until every producer has had something acknowledged since `before` (or failed fatally). */
async function untilAllProgress(producers: RunningProducer[], before: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (producers.every((p, i) => p.tally.fatal !== null || p.tally.acked.length > before[i]!)) return;
    await sleep(10);
  }
  throw new Error(`no progress within ${timeoutMs} ms: ${producers.map((p, i) => `${p.tally.name} ${p.tally.acked.length - before[i]!} acknowledged`).join(', ')}`);
}

describe('idempotent producers across SIGKILLs of weir start', () => {
  it(`stores every acknowledged value exactly once, none twice, in order, across ${KILLS} kills`, async () => {
    requireKcat();
    requireTool('python3-confluent-kafka', [PYTHON, ['-c', 'import confluent_kafka']], 'apt-get install -y python3-confluent-kafka');
    const { dir, cleanup } = tempDir('weir-idempotent-kill-');
    const started = Date.now();
    const producers: RunningProducer[] = [];
    try {
      await run(process.execPath, [WEIR_BIN, 'topics', 'create', '--data-dir', dir, '--topic', TOPIC, '--partitions', String(PARTITIONS)], 30_000);
      const bootstrap = `127.0.0.1:${await freeFixedPort()}`;
      const env = { WEIR_KAFKA__LISTEN: bootstrap };
      running = await startWeirProcess(dir, { env });
      const spec = { bootstrap, topic: TOPIC, partitions: PARTITIONS, window: WINDOW };
      producers.push(
        await startLibrdkafkaProducer({ ...spec, prefix: 'rk' }),
        await startPythonProducer({ ...spec, prefix: 'py' }),
        await startKafkajsProducer({ ...spec, prefix: 'kjs', window: KAFKAJS_CHUNK }),
      );
      /** Per producer, the kills that found values of it sent and not yet reported. */
      const killedInFlight = producers.map(() => 0);
      const readyMs: number[] = [];
      for (let kill = 0; kill < KILLS; kill++) {
        // Every producer is writing to this Weir (its restart was noticed and its re-sends
        // done), then the kill lands at a random moment of the stream.
        await untilAllProgress(producers, producers.map((p) => p.tally.acked.length), 20_000);
        await sleep(300 + Math.floor(Math.random() * 900));
        producers.forEach((p, i) => p.tally.outstanding() > 0 && killedInFlight[i]!++);
        const { signal } = await running.kill('SIGKILL');
        expect(signal).toBe('SIGKILL');
        const t0 = Date.now();
        running = await startWeirProcess(dir, { env });
        readyMs.push(Date.now() - t0);
      }
      await untilAllProgress(producers, producers.map((p) => p.tally.acked.length), 20_000);
      await Promise.all(producers.map((p) => p.stop(30_000)));
      const records = await readTopic(bootstrap);
      const findings = producers.map((p) => check(p.tally, records));
      const sum = (k: keyof Omit<Findings, 'examples'>) => findings.reduce((s, f) => s + f[k], 0);
      console.log(
        `idempotent restart test: ${KILLS} kills (Weir ready again in ${Math.min(...readyMs)}–${Math.max(...readyMs)} ms), ${records.length} records in the topic, ${Date.now() - started} ms\n` +
          producers.map((p, i) => {
            const f = findings[i]!;
            return `  ${p.tally.name}: acknowledged ${f.acknowledged}, stored ${f.stored}, duplicates ${f.duplicates}, missing ${f.missing}, out of order ${f.outOfOrder}, ` +
              `failed deliveries ${p.tally.failed}, unreported ${p.tally.outstanding()}, kills with values in flight ${killedInFlight[i]}/${KILLS}, fatal error: ${p.tally.fatal ?? 'none'}`;
          }).join('\n') +
          `\n  total: acknowledged ${sum('acknowledged')}, stored ${sum('stored')}, duplicates ${sum('duplicates')}, missing ${sum('missing')}, out of order ${sum('outOfOrder')}, kills ${KILLS}`,
      );
      // A fatal error (librdkafka's, when the broker forgot the producer) is a failure, stated.
      expect(producers.map((p) => `${p.tally.name}: ${p.tally.fatal ?? 'no fatal error'}`)).toEqual(producers.map((p) => `${p.tally.name}: no fatal error`));
      expect(findings.flatMap((f) => f.examples)).toEqual([]);
      expect({ duplicates: sum('duplicates'), missing: sum('missing'), outOfOrder: sum('outOfOrder') }).toEqual({ duplicates: 0, missing: 0, outOfOrder: 0 });
      expect(records.length).toBe(new Set(records.map((r) => r.value)).size);
      // The kills tested something: each producer had values acknowledged, and batches in flight at most kills.
      for (const [i, p] of producers.entries()) {
        expect(p.tally.acked.length, p.tally.name).toBeGreaterThan(KILLS * KAFKAJS_CHUNK);
        expect(killedInFlight[i], `${p.tally.name}: kills that found values in flight`).toBeGreaterThanOrEqual(KILLS / 2);
      }
    } finally {
      await Promise.all(producers.map((p) => p.stop(5_000).catch(() => undefined)));
      await running?.kill('SIGTERM');
      running = undefined;
      cleanup();
    }
  }, 120_000);
});
