/**
 * Child process for the compaction memory test: writes a compacted topic of many distinct keys
 * straight into a store (millions of records in seconds, where a Kafka client would take
 * minutes), then exits so Weir can open the data directory.
 *
 * Every key gets a first value; every `updateEvery`th key then gets a second. The records go in
 * appends of APPEND_RECORDS, many in flight, which group commits store as batches of up to
 * `max.message.bytes`, as a batching producer (kcat, librdkafka's 1 MB batches) would send them.
 * A last record, with a key of its own, is appended after a roll (`segment.ms` briefly 1 ms), so
 * the active segment, which compaction never touches, holds nothing but it.
 *
 * The topic is created with `min.compaction.lag.ms` of a day: nothing is compactable until the
 * test lowers it, so the test chooses when compaction starts.
 *
 * Prints one JSON line: `{ records, ms }`.
 *
 * Usage: node compaction-bulk-writer.js <dir> <topic> <keys> <updateEvery>
 */
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { kafkaTopicDefaults, openStore } from '../../src/store/index.js';
import { bulkKey, bulkValue, BULK_LAST_KEY } from './compaction-bulk-records.js';

const APPEND_RECORDS = 1000;
const IN_FLIGHT = 64;

const [dir, topic, keysArg, everyArg] = process.argv.slice(2);
if (dir === undefined || topic === undefined || everyArg === undefined) throw new Error('usage: compaction-bulk-writer <dir> <topic> <keys> <updateEvery>');
const keys = Number(keysArg);
const updateEvery = Number(everyArg);

const store = await openStore(
  {
    dir,
    topicDefaults: kafkaTopicDefaults(),
    defaultPartitions: 1,
    diskBudgetBytes: 8 * 1024 ** 3,
    writeQueueMaxRecords: 2 * IN_FLIGHT * APPEND_RECORDS,
    writeQueueMaxBytes: 64 * 1024 * 1024,
    blockTimeoutMs: 60_000,
    retentionCheckIntervalMs: 0,
    overlappingSync: true,
  },
  pino({ level: 'silent' }),
);
await store.createTopic(topic, { partitions: 1, configs: { 'cleanup.policy': 'compact', 'segment.bytes': String(16 * 1024 * 1024), 'min.compaction.lag.ms': '86400000' } });

const started = performance.now();
let records = 0;

/** Appends the records of `version` for every key `k` with `k % every === 0`, IN_FLIGHT appends at a time. */
async function writeVersion(version: number, every: number): Promise<void> {
  let next = 0;
  const appender = async (): Promise<void> => {
    while (next < keys) {
      const batch = [];
      for (; batch.length < APPEND_RECORDS && next < keys; next += every) batch.push({ key: bulkKey(next), value: bulkValue(next, version) });
      records += batch.length;
      await store.appendRecords(topic, 0, batch);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, appender));
}

await writeVersion(0, 1);
await writeVersion(1, updateEvery);
await store.alterTopicConfigs(topic, { 'segment.ms': '1' });
await delay(5);
await store.appendRecords(topic, 0, [{ key: Buffer.from(BULK_LAST_KEY), value: Buffer.from('last') }]);
records++;
await store.alterTopicConfigs(topic, {}, ['segment.ms']);
await store.close();
process.stdout.write(`${JSON.stringify({ records, ms: Math.round(performance.now() - started) })}\n`);
