/**
 * One benchmark scenario in a fresh process (so peak RSS belongs to it alone): N concurrent
 * appenders, each awaiting a durable append before its next one, for a fixed duration.
 * Prints one JSON line.
 *
 * Usage: node store-scenario.js <weir|raw-lmdb> <recordBytes> <appenders> <durationMs> <overlappingSync 1|0> <dir>
 */
import { open } from 'lmdb';
import { pino } from 'pino';
import { openStore, kafkaTopicDefaults } from '../../src/store/index.js';
import { atQuantile } from './percentile.js';
import { trackPeakRss } from './rss.js';

const [system, sizeArg, appendersArg, durationArg, overlappingArg, dir] = process.argv.slice(2);
const recordBytes = Number(sizeArg);
const appenders = Number(appendersArg);
const durationMs = Number(durationArg);
const overlappingSync = overlappingArg !== '0';
if (dir === undefined) throw new Error('usage: store-scenario <system> <bytes> <appenders> <ms> <overlapping> <dir>');

type Append = (appender: number, seq: number, value: Buffer) => Promise<unknown>;

async function setup(): Promise<{ append: Append; close(): Promise<void> }> {
  if (system === 'raw-lmdb') {
    // The same durability contract as the store: resolve only after the commit is flushed.
    const root = open({ path: dir!, noSubdir: false, overlappingSync, separateFlushed: true, cache: false, compression: false });
    const db = root.openDB<Buffer, Buffer>('bench', { keyEncoding: 'binary', encoding: 'binary' });
    return {
      append: async (appender, seq, value) => {
        const key = Buffer.allocUnsafe(12);
        key.writeUInt32BE(appender, 0);
        key.writeUInt32BE(0, 4);
        key.writeUInt32BE(seq, 8);
        const write = db.put(key, value) as Promise<boolean> & { flushed?: Promise<unknown> };
        await write;
        if (write.flushed !== undefined) await write.flushed;
      },
      close: () => root.close(),
    };
  }
  const store = await openStore(
    {
      dir: dir!,
      topicDefaults: kafkaTopicDefaults(),
      defaultPartitions: 1,
      diskBudgetBytes: 64 * 1024 ** 3,
      writeQueueMaxRecords: 100_000,
      writeQueueMaxBytes: 64 * 1024 * 1024,
      blockTimeoutMs: 30_000,
      retentionCheckIntervalMs: 0,
      overlappingSync,
    },
    pino({ level: 'silent' }),
  );
  await store.createTopic('bench', { partitions: 4 });
  return {
    append: (appender, _seq, value) => store.appendRecords('bench', appender % 4, [{ key: null, value }]),
    close: () => store.close(),
  };
}

const { append, close } = await setup();
const rss = trackPeakRss();
// A fixed reservoir sample of latencies (Vitter's algorithm R), preallocated and touched before
// the run: a buffer that grew with the record count would add RSS in proportion to throughput,
// charging the faster system for the harness's own memory.
const RESERVOIR = 200_000;
const latencies = new Float64Array(RESERVOIR).fill(0);
let records = 0;
let seed = 0x9e3779b9;
/** xorshift32: cheap and allocation-free, plenty for sampling. */
function random(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x1_0000_0000;
}
function sample(latency: number): void {
  if (records < RESERVOIR) latencies[records] = latency;
  else {
    const slot = Math.floor(random() * (records + 1));
    if (slot < RESERVOIR) latencies[slot] = latency;
  }
}
const value = Buffer.alloc(recordBytes, 0x61);
const deadline = performance.now() + durationMs;
const started = performance.now();
await Promise.all(
  Array.from({ length: appenders }, async (_, appender) => {
    for (let seq = 0; performance.now() < deadline; seq++) {
      const t0 = performance.now();
      await append(appender, seq, value);
      sample(performance.now() - t0);
      records++;
    }
  }),
);
const elapsedS = (performance.now() - started) / 1000;
const peak = rss.stop();
await close();
const measured = latencies.subarray(0, Math.min(records, latencies.length)).sort();
const pct = (p: number) => Math.round(atQuantile(measured, p) * 100) / 100;
console.log(
  JSON.stringify({
    system,
    overlappingSync,
    recordBytes,
    appenders,
    records,
    recordsPerSec: Math.round(records / elapsedS),
    MBPerSec: Math.round(((records * recordBytes) / elapsedS / 1e6) * 100) / 100,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    peakRssAnonMB: peak.rssAnonMB,
    peakRssFileMB: peak.rssFileMB,
    heapTotalAtPeakMB: peak.heapTotalMB,
    externalAtPeakMB: peak.externalMB,
  }),
);
