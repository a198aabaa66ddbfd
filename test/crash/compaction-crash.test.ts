/**
 * A crash at any moment of a compaction loses nothing. A child (compaction-crash-child.ts) appends
 * many values per key to a compacted topic with small segments while the cleaner runs back to
 * back with a dedupe buffer too small for the dirty keys (so catching up takes several passes);
 * we SIGKILL it at random moments and, after each kill, open the store here and check that every
 * key's latest acknowledged value is present (or a later value of the key), that offsets are
 * strictly increasing with none twice and none at or past the high watermark, and that every
 * record is one the child appended, byte for byte. Kills are counted by where they landed (in a
 * pass or between runs), and most must land in a pass.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { decodeRecordBatch } from '../../src/kafka/protocol/record-batch.js';
import { COMPACTED_PARTITIONS, COMPACTED_TOPIC, compactionKey, parseCompactionValue, partitionOfKey } from '../helpers/compaction-crash-records.js';
import { openTestStore, tempDir } from '../helpers/store.js';

const CHILD = join(import.meta.dirname, '../../dist/test/helpers/compaction-crash-child.js');
const KILLS = 24;
const KEYS = 6000;
const WORKERS = 16;
/** 1024 slots of 24 B, ~920 keys a pass: a partition's 3000 keys take several passes. */
const BUFFER_BYTES = 24 * 1024;
const RUN_PAUSE_MS = 20;

interface Ack {
  partition: number;
  offset: number;
  keyIndex: number;
  append: string;
}

interface Round {
  acks: Ack[];
  /** The kill landed in a run that had a due partition, before the run ended. */
  killedInPass: boolean;
  runsWithPasses: number;
  runsLeftBehind: number;
  recordsRemoved: number;
}

/** Runs the child, kills it `killAfterMs` after it is ready, and returns what it printed. */
async function runAndKill(dir: string, killAfterMs: number): Promise<Round> {
  const child = spawn(process.execPath, [CHILD, dir, String(KEYS), String(WORKERS), String(BUFFER_BYTES), String(RUN_PAUSE_MS)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const round: Round = { acks: [], killedInPass: false, runsWithPasses: 0, runsLeftBehind: 0, recordsRemoved: 0 };
  /** Partitions due in the run under way; null between runs. */
  let runDue: number | null = null;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let killTimer: NodeJS.Timeout | undefined;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const [kind, a, b, c, d] = line.split(' ');
    if (kind === 'a') round.acks.push({ partition: Number(a), offset: Number(b), keyIndex: Number(c), append: d! });
    else if (kind === 'run') runDue = Number(a);
    else if (kind === 'done') {
      runDue = null;
      if (Number(a) > 0) round.runsWithPasses++;
      round.recordsRemoved += Number(b);
      if (Number(d) > 0) round.runsLeftBehind++;
    } else if (kind === 'ready') killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  });
  await exited;
  clearTimeout(killTimer);
  // Every line written before the kill is in the pipe: read it to the end.
  await new Promise<void>((resolve) => (child.stdout.readableEnded ? resolve() : child.stdout.on('end', () => resolve())));
  if (child.signalCode !== 'SIGKILL') throw new Error(`compaction child exited on its own (${child.exitCode}): ${stderr}`);
  round.killedInPass = runDue !== null && runDue > 0;
  return round;
}

interface Found {
  keyIndex: number;
  append: string;
}

/** Reads a partition from its log start across compaction's gaps, checking offsets and records. */
function readPartition(store: Awaited<ReturnType<typeof openTestStore>>, partition: number, problems: string[]): { byOffset: Map<number, Found>; highWatermark: number } {
  const { logStartOffset, highWatermark } = store.offsets(COMPACTED_TOPIC, partition);
  const byOffset = new Map<number, Found>();
  let last = -1;
  let next = logStartOffset;
  while (next < highWatermark) {
    const { batches } = store.read(COMPACTED_TOPIC, partition, next, 1 << 20);
    if (batches.length === 0) throw new Error(`partition ${partition}: no batch at ${next} below the high watermark ${highWatermark}`);
    for (const batch of batches) {
      const { header, records } = decodeRecordBatch(batch);
      for (const r of records) {
        const where = `${COMPACTED_TOPIC}-${partition}@${r.offset}`;
        if (r.offset <= last) problems.push(`${where} follows offset ${last}: offsets must strictly increase, none twice`);
        if (r.offset >= highWatermark) problems.push(`${where} is at or past the high watermark ${highWatermark}`);
        last = Math.max(last, r.offset);
        const found = r.value === null ? undefined : parseCompactionValue(r.value);
        if (found === undefined || r.key === null || !r.key.equals(compactionKey(found.keyIndex)) || partitionOfKey(found.keyIndex) !== partition) {
          problems.push(`${where} is not a record the child appended`);
          continue;
        }
        byOffset.set(r.offset, found);
      }
      next = Math.max(next, header.baseOffset + header.lastOffsetDelta + 1);
    }
  }
  return { byOffset, highWatermark };
}

/** Checks the store against every acknowledgement so far; returns the records on disk and the offsets appended. */
async function verify(dir: string, acks: Ack[]): Promise<{ records: number; appended: number }> {
  const store = await openTestStore(dir);
  const problems: string[] = [];
  let records = 0;
  let appended = 0;
  try {
    const partitions = Array.from({ length: COMPACTED_PARTITIONS }, (_, p) => readPartition(store, p, problems));
    // The latest offset on disk of each key.
    const latestOnDisk = new Map<number, number>();
    for (const { byOffset, highWatermark } of partitions) {
      records += byOffset.size;
      appended += highWatermark;
      for (const [offset, { keyIndex }] of byOffset) latestOnDisk.set(keyIndex, Math.max(offset, latestOnDisk.get(keyIndex) ?? -1));
    }
    const latestAcked = new Map<number, Ack>();
    for (const ack of acks) {
      const where = `${COMPACTED_TOPIC}-${ack.partition}@${ack.offset}`;
      const found = partitions[ack.partition]!.byOffset.get(ack.offset);
      if (found !== undefined && (found.keyIndex !== ack.keyIndex || found.append !== ack.append)) problems.push(`${where} holds ${found.append} where ${ack.append} was acknowledged`);
      if (ack.offset >= partitions[ack.partition]!.highWatermark) problems.push(`acknowledged ${where} is past the high watermark`);
      if ((latestAcked.get(ack.keyIndex)?.offset ?? -1) < ack.offset) latestAcked.set(ack.keyIndex, ack);
    }
    for (const [keyIndex, ack] of latestAcked) {
      const found = partitions[ack.partition]!.byOffset.get(ack.offset);
      if (found === undefined && (latestOnDisk.get(keyIndex) ?? -1) <= ack.offset) {
        problems.push(`key ${keyIndex}: its latest acknowledged value (${COMPACTED_TOPIC}-${ack.partition}@${ack.offset}, ${ack.append}) is gone and no later one is present`);
      }
    }
  } finally {
    await store.close();
  }
  expect(problems.slice(0, 10)).toEqual([]);
  return { records, appended };
}

/** A 16 KiB segment rolls once past 16 KiB: with records of at least ~60 B, it holds at most this many. */
const ACTIVE_SEGMENT_MAX_RECORDS = 300;

/** Compacts with the default buffer (every key fits) until nothing is due; counts records and keys on disk. */
async function catchUp(dir: string): Promise<{ records: number; keys: number }> {
  const store = await openTestStore(dir);
  try {
    let runs = 0;
    while ((await store.runCompaction()).partitionsCompacted > 0) {
      if (++runs > 10) throw new Error('compaction is still due after 10 runs with room for every key');
    }
    const problems: string[] = [];
    const keys = new Set<number>();
    let records = 0;
    for (let p = 0; p < COMPACTED_PARTITIONS; p++) {
      const { byOffset } = readPartition(store, p, problems);
      records += byOffset.size;
      for (const { keyIndex } of byOffset.values()) keys.add(keyIndex);
    }
    expect(problems.slice(0, 10)).toEqual([]);
    return { records, keys: keys.size };
  } finally {
    await store.close();
  }
}

describe('crash safety of log compaction (SIGKILL while the cleaner runs)', () => {
  it(`keeps every key's latest acknowledged value and unique, increasing offsets across ${KILLS} kills`, async () => {
    expect(existsSync(CHILD), `${CHILD} is missing: run "npm run build" first (npm test does)`).toBe(true);
    const { dir, cleanup } = tempDir('weir-compaction-crash-');
    try {
      const acks: Ack[] = [];
      let killsInPass = 0;
      let runsWithPasses = 0;
      let runsLeftBehind = 0;
      let recordsRemoved = 0;
      let lastAppended = 0;
      let figures = { records: 0, appended: 0 };
      for (let kill = 0; kill < KILLS; kill++) {
        const round = await runAndKill(dir, 400 + Math.floor(Math.random() * 1200));
        acks.push(...round.acks);
        if (round.killedInPass) killsInPass++;
        runsWithPasses += round.runsWithPasses;
        runsLeftBehind += round.runsLeftBehind;
        recordsRemoved += round.recordsRemoved;
        figures = await verify(dir, acks);
        // Offsets continue across restarts: nothing appended is forgotten.
        expect(figures.appended).toBeGreaterThanOrEqual(lastAppended);
        lastAppended = figures.appended;
      }
      console.log(
        `compaction crash test: ${KILLS} kills, ${killsInPass} during a compaction pass; ${acks.length} acknowledged appends verified; ` +
          `${runsWithPasses} runs compacted, ${runsLeftBehind} left a partition behind (multi-pass), ${recordsRemoved} records removed; ` +
          `${figures.records} records on disk of ${figures.appended} appended`,
      );
      expect(acks.length).toBeGreaterThan(KILLS * 100);
      // The kills must test compaction: most land while a pass runs, passes removed records and
      // some left the partition behind for the next pass (the buffer held too few keys).
      expect(killsInPass).toBeGreaterThanOrEqual(KILLS / 2);
      expect(recordsRemoved).toBeGreaterThan(0);
      expect(runsLeftBehind).toBeGreaterThan(0);
      // After all the kills the cleaner still converges: with room for every key, one more run
      // leaves one record per key, but for the active segments, which are never compacted.
      const after = await catchUp(dir);
      console.log(`after catching up: ${after.records} records on disk for ${after.keys} keys`);
      expect(after.records - after.keys).toBeLessThanOrEqual(COMPACTED_PARTITIONS * ACTIVE_SEGMENT_MAX_RECORDS);
    } finally {
      cleanup();
    }
  }, 300_000);
});
