/**
 * The log cleaner's memory is bounded by `store.compaction_buffer_bytes`, never by the number of
 * keys. A partition of 5 million distinct keys (each with a first value, every third with a
 * second: 6.7 million records, written by compaction-bulk-writer.ts straight into the store) is
 * compacted by Weir as the systemd unit runs it, with a 16 MiB buffer: 24 B a key at a load
 * factor of 0.9 holds ~629k keys, so the cleaner needs at least 8 passes (11: each pass maps
 * the dirty records from where the last one stopped, second values included). RssAnon is sampled from /proc
 * every 100 ms: its peak while the cleaner works may exceed the level before by at most the
 * buffer and MARGIN_MB. The test then reads the partition back: exactly the latest value of every
 * key, each once, offsets increasing.
 *
 * The topic is written with `min.compaction.lag.ms` of a day, so Weir opens it with nothing to
 * compact; the test measures the level before, then lowers the lag to 0 over Kafka, which is when
 * compaction starts.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { expect, it } from 'vitest';
import { decodeRecordBatch } from '../../src/kafka/protocol/record-batch.js';
import { BULK_LAST_KEY, bulkValue } from '../helpers/compaction-bulk-records.js';
import { startHostileWeir } from '../helpers/hostile-weir.js';
import { openTestStore, tempDir } from '../helpers/store.js';
import { until } from '../helpers/until.js';

const WRITER = join(import.meta.dirname, '../../dist/test/helpers/compaction-bulk-writer.js');
const TOPIC = 'devices';
const KEYS = 5_000_000;
const UPDATE_EVERY = 3;
const MiB = 1024 * 1024;
const BUFFER_BYTES = 16 * MiB;
/**
 * Besides the buffer, a pass holds one chunk of batches (about 1 MiB read, as much rewritten),
 * the LMDB write transaction's dirty pages, and the garbage of decoding batches, which V8 collects
 * in its own time; glibc keeps some freed memory a while.
 */
const MARGIN_MB = 24;
/** The buffer's keys at its load factor, so the passes a partition of KEYS keys needs. */
const KEYS_PER_PASS = Math.floor(Math.floor(BUFFER_BYTES / 24) * 0.9);
const PASSES = Math.ceil(KEYS / KEYS_PER_PASS);

function peakBetween(samples: readonly [number, number][], from: number, to: number): number {
  return samples.reduce((peak, [t, mb]) => (t >= from && t <= to && mb > peak ? mb : peak), 0);
}

async function writeTopic(dataDir: string): Promise<{ records: number; ms: number }> {
  const { stdout } = await promisify(execFile)(process.execPath, [WRITER, dataDir, TOPIC, String(KEYS), String(UPDATE_EVERY)], { timeout: 120_000 });
  return JSON.parse(stdout) as { records: number; ms: number };
}

/**
 * Lowers `min.compaction.lag.ms` to 0 over Kafka (AlterConfigs replaces a topic's overrides: all
 * are given). `min.cleanable.dirty.ratio` goes down too: as in Kafka, a partition is compacted
 * again only while its dirty ratio reaches it, and after a pass that mapped 70% of the records it
 * no longer does at the default 0.5, so the passes would stop there until more records come.
 */
async function allowCompaction(kafkaAddress: string): Promise<void> {
  const admin = new Kafka({ clientId: 'compaction-memory', brokers: [kafkaAddress], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const configEntries = [
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'segment.bytes', value: String(16 * MiB) },
      { name: 'min.compaction.lag.ms', value: '0' },
      { name: 'min.cleanable.dirty.ratio', value: '0.01' },
    ];
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries }] });
  } finally {
    await admin.disconnect();
  }
}

/** Reads the partition from its start across the gaps: every key once, with its latest value, offsets increasing. */
async function checkLatestPerKey(dataDir: string): Promise<{ records: number }> {
  const store = await openTestStore(dataDir);
  try {
    const { logStartOffset, highWatermark } = store.offsets(TOPIC, 0);
    const seen = new Uint8Array(KEYS);
    const problems: string[] = [];
    let records = 0;
    let last = -1;
    let next = logStartOffset;
    while (next < highWatermark) {
      const { batches } = store.read(TOPIC, 0, next, 4 * MiB);
      if (batches.length === 0) throw new Error(`no batch at ${next} below the high watermark ${highWatermark}`);
      for (const batch of batches) {
        const { header, records: batchRecords } = decodeRecordBatch(batch);
        for (const r of batchRecords) {
          records++;
          if (r.offset <= last) problems.push(`offset ${r.offset} after ${last}`);
          last = r.offset;
          const key = r.key?.toString() ?? '';
          if (key === BULK_LAST_KEY) continue;
          const keyIndex = Number(key.slice(1));
          const latest = bulkValue(keyIndex, keyIndex % UPDATE_EVERY === 0 ? 1 : 0);
          if (seen[keyIndex] === 1) problems.push(`key ${key} twice (again at ${r.offset})`);
          else if (r.value === null || !r.value.equals(latest)) problems.push(`key ${key} at ${r.offset} holds ${r.value?.toString()}, not ${latest.toString()}`);
          seen[keyIndex] = 1;
        }
        next = Math.max(next, header.baseOffset + header.lastOffsetDelta + 1);
      }
      if (problems.length > 10) break;
    }
    const missing = seen.indexOf(0);
    if (missing >= 0) problems.push(`key k${missing} is missing (${seen.reduce((n, s) => n + 1 - s, 0)} keys are)`);
    expect(problems.slice(0, 10)).toEqual([]);
    return { records };
  } finally {
    await store.close();
  }
}

it(`compacts ${KEYS / 1e6} million keys in ${PASSES} passes or more within store.compaction_buffer_bytes (${BUFFER_BYTES / MiB} MiB) + ${MARGIN_MB} MB of RssAnon`, async () => {
  const { dir, cleanup } = tempDir('weir-compaction-memory-');
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  try {
    const written = await writeTopic(dataDir);
    const weir = await startHostileWeir(dataDir, { store: { compaction_buffer_bytes: BUFFER_BYTES, compaction_check_interval_ms: 200 }, log: { level: 'debug' } });
    // The cleaner's debug line after each pass over a partition says whether its map held every dirty key.
    const passes: { mapEnd: number; mappedAll: boolean; at: number }[] = [];
    createInterface({ input: weir.child.stdout! }).on('line', (text) => {
      if (!text.includes('"partition compacted"')) return;
      const line = JSON.parse(text) as { msg: string; mapEnd: number; mappedAll: boolean };
      if (line.msg === 'partition compacted') passes.push({ mapEnd: line.mapEnd, mappedAll: line.mappedAll, at: Date.now() });
    });
    try {
      // The level before: Weir idle on the data directory, the cleaner finding nothing to do.
      await delay(3_000);
      const quietFrom = Date.now();
      await delay(2_000);
      const before = weir.rss.peakSince(quietFrom);
      expect(passes).toEqual([]);

      const started = Date.now();
      await allowCompaction(weir.kafka);
      await until('the cleaner to catch up', () => passes.at(-1)?.mappedAll === true || !weir.alive(), 150_000, 100);
      const compactionMs = Date.now() - started;
      const peak = weir.rss.peakSince(started);
      // Growth during each pass: flat across passes, not rising with the keys compacted so far.
      const growthByPass = passes.map((pass, i) => peakBetween(weir.rss.samples, passes[i - 1]?.at ?? started, pass.at) - before);
      expect(weir.alive()).toBe(true);
      expect(weir.warnings).toEqual([]);
      await weir.stop();

      const { records } = await checkLatestPerKey(dataDir);
      const figures = { written: written.records, writeMs: written.ms, passes: passes.length, compactionMs, rssAnonBeforeMB: before, rssAnonPeakMB: peak, growthMB: peak - before, growthByPassMB: growthByPass, recordsAfter: records };
      console.log(`compaction memory ${JSON.stringify(figures, (_, v: unknown) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v))}`);
      expect(peak - before).toBeLessThanOrEqual(BUFFER_BYTES / MiB + MARGIN_MB);
      // Each pass but the last stopped where its map filled, further on each time.
      expect(passes.length).toBeGreaterThanOrEqual(PASSES);
      expect(passes.slice(0, -1).every((p, i) => !p.mappedAll && (i === 0 || p.mapEnd > passes[i - 1]!.mapEnd))).toBe(true);
      expect(records).toBe(KEYS + 1);
    } finally {
      await weir.stop();
    }
  } finally {
    cleanup();
  }
}, 300_000);
