/**
 * The store alone, as `weir start` configures it (defaults, data in <dir>): durable appendBatches
 * of client-built RecordBatches, what the Produce handler hands the store, with no protocol in
 * between. The Kafka bench runs this beside kcat so the ratio shows the listener's overhead.
 * One appender per partition, two batches in flight each (kcat keeps several Produce requests
 * in flight per partition, too). Prints one JSON line.
 *
 * Usage: node kafka-store-scenario.js <recordBytes> <partitions> <records> <recordsPerBatch> <dir>
 */
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { storeOptionsFromConfig } from '../../src/config/store-options.js';
import { encodeRecordBatch } from '../../src/kafka/protocol/record-batch.js';
import { openStore } from '../../src/store/index.js';
import { trackPeakRss } from './rss.js';

const [sizeArg, partitionsArg, recordsArg, perBatchArg, dir] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: kafka-store-scenario <recordBytes> <partitions> <records> <recordsPerBatch> <dir>');
const recordBytes = Number(sizeArg);
const partitions = Number(partitionsArg);
const total = Number(recordsArg);
const perBatch = Number(perBatchArg);

const config = loadConfig({ env: { WEIR_STORE__DIR: dir }, cwd: dir });
const store = await openStore(storeOptionsFromConfig(config), pino({ level: 'silent' }));
await store.createTopic('bench', { partitions });
const value = Buffer.alloc(recordBytes, 0x61);
const batch = encodeRecordBatch({ baseOffset: 0, records: Array.from({ length: perBatch }, () => ({ key: null, value })) });
const rss = trackPeakRss();
let appended = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: partitions * 2 }, async (_, i) => {
    while (appended < total) {
      appended += perBatch;
      // appendBatches rewrites offsets in place: each call gets its own copy, as a request frame would be.
      await store.appendBatches('bench', i % partitions, Buffer.from(batch));
    }
  }),
);
const elapsedS = (performance.now() - started) / 1000;
const peak = rss.stop();
await store.close();
console.log(JSON.stringify({
  system: 'store-appendBatches',
  recordBytes,
  partitions,
  records: appended,
  recordsPerBatch: perBatch,
  recordsPerSec: Math.round(appended / elapsedS),
  MBPerSec: Math.round(((appended * recordBytes) / elapsedS / 1e6) * 10) / 10,
  peakRssAnonMB: peak.rssAnonMB,
  peakRssFileMB: peak.rssFileMB,
}));
