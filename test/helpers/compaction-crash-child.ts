/**
 * Child process for the compaction crash test: a compacted topic with small segments and a small
 * dedupe buffer (so a pass maps only part of the dirty keys and the cleaner needs several passes
 * to catch up), appends from many concurrent callers, and runs the cleaner back to back.
 *
 * stdout, one line each, written synchronously (a pipe on Linux), so the parent reading them after
 * a SIGKILL knows what had happened before it:
 * - `ready` once the store is open;
 * - `a <partition> <offset> <keyIndex> <append>` once an append is acknowledged (durable);
 * - `run <partitions due>` when a compaction run starts, `done <compacted> <removed> <bytes>
 *   <behind>` when it ends (`behind`: partitions whose pass could not map every dirty key, so the
 *   next pass goes on). A kill after a `run` naming a due partition and before its `done` landed
 *   during a compaction pass.
 *
 * The cleaner is run here, not by the store's timer, so that the start of every run is known; the
 * pause between runs plays `store.compaction_check_interval_ms`.
 *
 * Usage: node compaction-crash-child.js <dir> <keys> <workers> <bufferBytes> <runPauseMs>
 */
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { kafkaTopicDefaults, openStore } from '../../src/store/index.js';
import { COMPACTED_PARTITIONS, COMPACTED_TOPIC, COMPACTED_TOPIC_CONFIGS, compactionKey, compactionValue, partitionOfKey } from './compaction-crash-records.js';

const [dir, keysArg, workersArg, bufferArg, pauseArg] = process.argv.slice(2);
if (dir === undefined || pauseArg === undefined) throw new Error('usage: compaction-crash-child <dir> <keys> <workers> <bufferBytes> <runPauseMs>');
const keys = Number(keysArg);
const runPauseMs = Number(pauseArg);

const store = await openStore(
  {
    dir,
    topicDefaults: kafkaTopicDefaults(),
    defaultPartitions: COMPACTED_PARTITIONS,
    diskBudgetBytes: 1024 ** 3,
    writeQueueMaxRecords: 10_000,
    writeQueueMaxBytes: 8 * 1024 * 1024,
    blockTimeoutMs: 10_000,
    retentionCheckIntervalMs: 0,
    overlappingSync: true,
    compactionBufferBytes: Number(bufferArg),
    compactionCheckIntervalMs: 0,
  },
  pino({ level: 'silent' }),
);
if (!store.hasTopic(COMPACTED_TOPIC)) await store.createTopic(COMPACTED_TOPIC, { partitions: COMPACTED_PARTITIONS, configs: COMPACTED_TOPIC_CONFIGS });
process.stdout.write('ready\n');

const run = `${process.pid}`;
async function worker(w: number): Promise<void> {
  for (let seq = 0; ; seq++) {
    const keyIndex = Math.floor(Math.random() * keys);
    const append = `${run}.${w}.${seq}`;
    const partition = partitionOfKey(keyIndex);
    const { baseOffset } = await store.appendRecords(COMPACTED_TOPIC, partition, [{ key: compactionKey(keyIndex), value: compactionValue(keyIndex, append) }]);
    process.stdout.write(`a ${partition} ${baseOffset} ${keyIndex} ${append}\n`);
  }
}

async function cleanerLoop(): Promise<void> {
  const minRatio = Number(COMPACTED_TOPIC_CONFIGS['min.cleanable.dirty.ratio']);
  for (;;) {
    const due = store.describeTopic(COMPACTED_TOPIC).partitions.filter((p) => (p.compaction?.dirtyRatio ?? 0) >= minRatio).length;
    process.stdout.write(`run ${due}\n`);
    const report = await store.runCompaction();
    const behind = store.describeTopic(COMPACTED_TOPIC).partitions.filter((p) => p.compaction?.behind === true).length;
    process.stdout.write(`done ${report.partitionsCompacted} ${report.recordsRemoved} ${report.bytesReclaimed} ${behind}\n`);
    await delay(runPauseMs);
  }
}

await Promise.all([cleanerLoop(), ...Array.from({ length: Number(workersArg) }, (_, w) => worker(w))]);
