/**
 * The produce side of `npm run bench:compaction`: kcat producing at full rate into `weir start`
 * (its own process, the systemd unit's V8 flags and environment) while the log cleaner compacts
 * another topic of the same Weir, against the same produce with no compaction running.
 *
 * One round of one side: a fresh Weir (compaction timer every 200 ms, admin listener on), topics
 * `load` (delete policy) and `compacted` (cleanup.policy=compact, segment.bytes 1 GiB so the
 * prefill stays in its active segment, where nothing is compacted), the prefill produced into
 * `compacted` by kcat (random keys). Both sides then shrink `compacted`'s segment.bytes and
 * `sync` (so writeback of the prefill does not fall on the timed produce); on the
 * `with` side one more record rolls its active segment, the cleaner starts on it, and kcat starts
 * once the first chunk of the pass is on disk (bytes reclaimed above zero in /api/status). kcat
 * produces the same file into `load` on both sides (acks=-1, the kafka bench's settings); its
 * wall time gives the rate. /api/status is polled every 100 ms on both sides alike.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import kafkajs, { Kafka, logLevel } from 'kafkajs';
import { startWeirProcess } from '../helpers/weir-process.js';
import { processCpuSeconds, timedWithCpu } from './process-cpu.js';
import { trackPeakRssOf } from './rss.js';
import type { Side } from './side-by-side.js';

export interface ProduceSpec {
  recordBytes: number;
  /** Records kcat produces into `load`. */
  produceRecords: number;
  /** Records of the compacted topic, and its distinct keys. */
  compactRecords: number;
  compactKeys: number;
  nodeFlags: string[];
  env: Record<string, string>;
}

export interface ProduceRun {
  msgPerSec: number;
  seconds: number;
  /** Cores used over kcat's run: Weir's, kcat's. */
  weirCpu: number;
  kcatCpu: number;
  /** `with`: the pass was still running when kcat exited (it overlapped the whole produce). */
  compactionCoveredProduce: boolean | null;
  /** `with`: the pass's bytes reclaimed by the time kcat exited, and in the end. */
  reclaimedDuringProduceMB: number | null;
  reclaimedMB: number | null;
  /** `with`: seconds from the roll to the pass's end (slower while kcat produced). */
  compactionSeconds: number | null;
  peakRssAnonMB: number;
}

const KCAT_PRODUCE = ['-X', 'acks=-1', '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000', '-X', 'batch.size=1000000', '-X', 'queue.buffering.max.messages=1000000'];

/** `lines` lines of `key:value`, keys random in [0, keys) (seeded), values of `bytes` bytes; null keys: value only. */
export function writeInput(file: string, bytes: number, lines: number, keys: number | null): string {
  const fd = openSync(file, 'w');
  const value = 'a'.repeat(bytes);
  let seed = 0x1b873593;
  let chunk: string[] = [];
  for (let i = 0; i < lines; i++) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    chunk.push(keys === null ? value : `key-${String((seed >>> 0) % keys).padStart(8, '0')}:${value}`);
    if (chunk.length === 1000 || i === lines - 1) {
      writeSync(fd, `${chunk.join('\n')}\n`);
      chunk = [];
    }
  }
  closeSync(fd);
  return file;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/**
 * The `compacted` partition's line of the status API's log compaction section: bytes reclaimed,
 * and whether a pass has ended.
 */
async function compactionStatus(admin: string): Promise<{ reclaimed: number; ended: boolean }> {
  const status = (await (await fetch(`http://${admin}/api/status`)).json()) as { sections?: { id: string; table?: { rows: (string | number)[][] } }[] };
  const row = status.sections?.find((s) => s.id === 'compaction')?.table?.rows.find((r) => r[0] === 'compacted-0');
  return { reclaimed: Number(row?.[3] ?? 0), ended: row !== undefined && row[2] !== 'never' };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round2 = (x: number) => Math.round(x * 100) / 100;

export async function produceOnce(spec: ProduceSpec, side: Side, inputs: { load: string; keyed: string }): Promise<ProduceRun> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-cbench-'));
  const port = await freePort();
  const admin = `127.0.0.1:${port}`;
  const weir = await startWeirProcess(dir, {
    nodeArgs: spec.nodeFlags,
    env: { ...spec.env, WEIR_ADMIN__ENABLED: 'true', WEIR_ADMIN__LISTEN: admin, WEIR_STORE__COMPACTION_CHECK_INTERVAL_MS: '200' },
  });
  try {
    const kafka = new Kafka({ clientId: 'bench', brokers: [weir.kafka], logLevel: logLevel.NOTHING });
    const client = kafka.admin();
    await client.connect();
    const compactConfigs = [{ name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: String(1024 ** 3) }];
    await client.createTopics({ topics: [{ topic: 'load', numPartitions: 1 }, { topic: 'compacted', numPartitions: 1, configEntries: compactConfigs }] });
    await timedWithCpu('kcat', ['-P', '-b', weir.kafka, '-t', 'compacted', '-K', ':', ...KCAT_PRODUCE, '-l', inputs.keyed]);
    // AlterConfigs replaces a topic's whole set: cleanup.policy goes again with segment.bytes.
    await client.alterConfigs({ validateOnly: false, resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: 'compacted', configEntries: [compactConfigs[0]!, { name: 'segment.bytes', value: '14' }] }] });
    // The prefill's writeback (and other work's) reaches the disk before either side is timed.
    execFileSync('sync');
    let rolledAt = 0;
    if (side === 'with') {
      const sentinel = spawnSync('kcat', ['-P', '-b', weir.kafka, '-t', 'compacted', '-K', ':'], { input: 'sentinel:active\n' });
      if (sentinel.status !== 0) throw new Error(`kcat sentinel: ${sentinel.stderr.toString()}`);
      rolledAt = performance.now();
      for (let i = 0; (await compactionStatus(admin)).reclaimed === 0; i++) {
        if (i > 600) throw new Error('the log cleaner reclaimed nothing within 60 s of the roll');
        await sleep(100);
      }
    }
    // Polled on both sides alike, so its cost falls on both.
    let polling = true;
    const poller = (async () => {
      while (polling) {
        await compactionStatus(admin);
        await sleep(100);
      }
    })();
    const rss = trackPeakRssOf(weir.pid);
    const cpu0 = processCpuSeconds(weir.pid);
    const kcat = await timedWithCpu('kcat', ['-P', '-b', weir.kafka, '-t', 'load', ...KCAT_PRODUCE, '-l', inputs.load]);
    const weirCpu = processCpuSeconds(weir.pid) - cpu0;
    const atProduceEnd = await compactionStatus(admin);
    polling = false;
    await poller;
    let compactionSeconds: number | null = null;
    let final = atProduceEnd;
    if (side === 'with') {
      for (let i = 0; !final.ended; i++) {
        if (i > 3000) throw new Error('the compaction pass did not end within 300 s');
        await sleep(100);
        final = await compactionStatus(admin);
      }
      compactionSeconds = round2((performance.now() - rolledAt) / 1000);
    }
    const stored = Number((await client.fetchTopicOffsets('load'))[0]!.high);
    if (stored !== spec.produceRecords) throw new Error(`kcat produced ${spec.produceRecords} records, the broker has ${stored}`);
    await client.disconnect();
    const peak = rss.stop();
    return {
      msgPerSec: Math.round(spec.produceRecords / kcat.seconds),
      seconds: round2(kcat.seconds),
      weirCpu: round2(weirCpu / kcat.seconds),
      kcatCpu: round2(kcat.cpuSeconds / kcat.seconds),
      compactionCoveredProduce: side === 'with' ? !atProduceEnd.ended : null,
      reclaimedDuringProduceMB: side === 'with' ? round2(atProduceEnd.reclaimed / 1e6) : null,
      reclaimedMB: side === 'with' ? round2(final.reclaimed / 1e6) : null,
      compactionSeconds,
      peakRssAnonMB: peak.rssAnonMB,
    };
  } finally {
    await weir.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
