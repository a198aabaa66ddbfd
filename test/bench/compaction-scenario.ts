/**
 * One log-compaction scenario of `npm run bench:compaction`, in a process of its own (so its
 * RssAnon is the compaction's): the store as `weir start` configures it (data in spec.dir), a
 * compacted topic of one partition filled with `records` keyed records of `recordBytes`-byte
 * values, keys drawn uniformly at random from `keys` (seeded), appended as client-built batches
 * of `perBatch` records (what the Produce handler hands the store). Then one record rolls the
 * active segment, so every filled record is in a closed segment, which the cleaner may compact.
 *
 * Protocol with the bench, on stdin/stdout: prints `filled {json}`, waits for `go`, runs
 * `LogStore.runCompaction` until it compacts nothing more (a partition with more keys than the
 * dedupe buffer holds takes several passes), timing the passes and sampling RssAnon, prints
 * `compacted {json}`, waits for `scan`, compares every stored batch with the scan made before
 * the passes (a batch whose CRC changed was rewritten), prints `scanned {json}` and exits. The scans are
 * outside the window the bench counts device writes in, and the scan's table (one entry per
 * batch) exists before RssAnon is first read.
 *
 * The JSON CompactionScenarioSpec comes in the environment (COMPACTION_SCENARIO).
 */
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { storeOptionsFromConfig } from '../../src/config/store-options.js';
import { encodeRecordBatch } from '../../src/kafka/protocol/record-batch.js';
import { openStore } from '../../src/store/index.js';
import type { LogStore } from '../../src/store/index.js';
import { trackPeakRss } from './rss.js';

export interface CompactionScenarioSpec {
  dir: string;
  recordBytes: number;
  keys: number;
  records: number;
  perBatch: number;
  bufferBytes: number;
  /** The topic's min.cleanable.dirty.ratio (passes go on while the partition is due). */
  dirtyRatio: number;
}

const TOPIC = 'compacted';
/** Offsets within a RecordBatch v2 header. */
const CRC_AT = 17;
const BATCH_LENGTH_AT = 8;

const lines = createInterface({ input: process.stdin });
const waiters = new Map<string, () => void>();
lines.on('line', (line) => waiters.get(line)?.());
const told = (word: string) => new Promise<void>((resolve) => waiters.set(word, resolve));

/** xorshift32, seeded: the same keys in every run. */
function keyPicker(keys: number): () => number {
  let seed = 0x2545f491;
  return () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % keys;
  };
}

async function fill(store: LogStore, spec: CompactionScenarioSpec): Promise<void> {
  const pick = keyPicker(spec.keys);
  const value = Buffer.alloc(spec.recordBytes, 0x61);
  let appended = 0;
  const appender = async () => {
    while (appended < spec.records) {
      const n = Math.min(spec.perBatch, spec.records - appended);
      appended += n;
      const records = Array.from({ length: n }, () => ({ key: Buffer.from(`key-${String(pick()).padStart(8, '0')}`), value }));
      await store.appendBatches(TOPIC, 0, encodeRecordBatch({ baseOffset: 0, records }));
    }
  };
  // Two batches in flight, as a client keeps several Produce requests in flight.
  await Promise.all([appender(), appender()]);
  // A segment.bytes below any batch rolls the active segment at the next append: the filled
  // records are then all in closed segments, the sentinel alone in the active one.
  await store.alterTopicConfigs(TOPIC, { 'segment.bytes': '14' });
  await store.appendRecords(TOPIC, 0, [{ key: Buffer.from('sentinel'), value: Buffer.from('active') }]);
}

/** baseOffset → CRC and size of every stored batch of the partition. */
function scan(store: LogStore): Map<number, { crc: number; bytes: number }> {
  const batches = new Map<number, { crc: number; bytes: number }>();
  const { highWatermark } = store.offsets(TOPIC, 0);
  let offset = store.offsets(TOPIC, 0).logStartOffset;
  while (offset < highWatermark) {
    const read = store.read(TOPIC, 0, offset, 4 * 1024 * 1024);
    if (read.batches.length === 0) break;
    for (const batch of read.batches) {
      const base = Number(batch.readBigInt64BE(0));
      batches.set(base, { crc: batch.readUInt32BE(CRC_AT), bytes: batch.readInt32BE(BATCH_LENGTH_AT) + 12 });
      offset = Math.max(offset, base + batch.readInt32BE(23) + 1);
    }
  }
  return batches;
}

async function main(spec: CompactionScenarioSpec): Promise<void> {
  const config = loadConfig({ env: { WEIR_STORE__DIR: spec.dir }, cwd: spec.dir });
  const options = { ...storeOptionsFromConfig(config), compactionBufferBytes: spec.bufferBytes, compactionCheckIntervalMs: 0 };
  const store = await openStore(options, pino({ level: 'silent' }));
  await store.createTopic(TOPIC, { partitions: 1, configs: { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': String(spec.dirtyRatio) } });
  const fillStarted = performance.now();
  await fill(store, spec);
  const fillSeconds = (performance.now() - fillStarted) / 1000;
  const sizeBefore = store.describeTopic(TOPIC).partitions[0]!.sizeBytes;
  const before = scan(store);
  process.stdout.write(`filled ${JSON.stringify({ fillSeconds: Math.round(fillSeconds * 10) / 10, sizeBytes: sizeBefore, batches: before.size })}\n`);
  await told('go');

  const rssBefore = trackPeakRss().stop();
  const rss = trackPeakRss(10);
  const passes: { seconds: number; recordsRemoved: number; bytesReclaimed: number }[] = [];
  const started = performance.now();
  for (let i = 0; i < 100; i++) {
    const t0 = performance.now();
    const report = await store.runCompaction();
    if (report.partitionsCompacted === 0) break;
    passes.push({ seconds: (performance.now() - t0) / 1000, recordsRemoved: report.recordsRemoved, bytesReclaimed: report.bytesReclaimed });
  }
  const seconds = (performance.now() - started) / 1000;
  const peak = rss.stop();
  const partition = store.describeTopic(TOPIC).partitions[0]!;
  process.stdout.write(`compacted ${JSON.stringify({
    seconds,
    passes,
    recordsRemoved: passes.reduce((s, p) => s + p.recordsRemoved, 0),
    bytesReclaimed: passes.reduce((s, p) => s + p.bytesReclaimed, 0),
    sizeBytesAfter: partition.sizeBytes,
    behind: partition.compaction?.behind ?? null,
    dirtyRatioAfter: partition.compaction?.dirtyRatio ?? null,
    rssAnonBeforeMB: rssBefore.rssAnonMB,
    peakRssAnonMB: peak.rssAnonMB,
    heapTotalAtPeakMB: peak.heapTotalMB ?? null,
    externalAtPeakMB: peak.externalMB ?? null,
  })}\n`);
  await told('scan');

  let rewrittenBatches = 0;
  let rewrittenBytes = 0;
  const after = scan(store);
  for (const [base, batch] of after) {
    const old = before.get(base);
    if (old !== undefined && old.crc !== batch.crc) {
      rewrittenBatches++;
      rewrittenBytes += batch.bytes;
    }
  }
  await store.close();
  process.stdout.write(`scanned ${JSON.stringify({ batchesBefore: before.size, batchesAfter: after.size, rewrittenBatches, rewrittenBytes })}\n`);
  lines.close();
}

const specText = process.env['COMPACTION_SCENARIO'];
if (specText !== undefined) await main(JSON.parse(specText) as CompactionScenarioSpec);
