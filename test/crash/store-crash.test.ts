/**
 * Acknowledged ⇒ on disk, under SIGKILL. A child appends from many concurrent callers and prints
 * each acknowledged offset; we kill it at random moments, reopen the store here, and check that
 * every acknowledged record is present byte for byte at its offset, and that offsets are dense.
 * Zero loss is the only passing result.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { decodeRecordBatch } from '../../src/kafka/protocol/record-batch.js';
import { CRASH_TOPIC, crashRecordKey, crashRecordValue } from '../helpers/crash-records.js';
import { openTestStore, tempDir } from '../helpers/store.js';

const CHILD = join(import.meta.dirname, '../../dist/test/helpers/crash-appender.js');
const PARTITIONS = 4;
const WORKERS = 64;

interface Ack {
  partition: number;
  offset: number;
  worker: string;
  seq: number;
}

/** Runs the child until it has acknowledged something, then kills it after a random delay. */
async function runAndKill(dir: string, overlappingSync: boolean, killAfterMs: number): Promise<Ack[]> {
  const child = spawn(process.execPath, [CHILD, dir, String(WORKERS), String(PARTITIONS), overlappingSync ? '1' : '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acks: Ack[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout });
  let killTimer: NodeJS.Timeout | undefined;
  lines.on('line', (line) => {
    if (line === 'ready') {
      killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      return;
    }
    const [, partition, offset, worker, seq] = line.split(' ');
    acks.push({ partition: Number(partition), offset: Number(offset), worker: worker!, seq: Number(seq) });
  });
  await exited;
  clearTimeout(killTimer);
  // Every line the child wrote before dying is in the pipe: read it to the end.
  await new Promise<void>((resolve) => (child.stdout.readableEnded ? resolve() : child.stdout.on('end', () => resolve())));
  if (child.signalCode !== 'SIGKILL') throw new Error(`crash child exited on its own (${child.exitCode}): ${stderr}`);
  return acks;
}

async function verify(dir: string, acks: Ack[]): Promise<{ records: number }> {
  const store = await openTestStore(dir);
  try {
    let records = 0;
    const byPartition = new Map<number, Map<number, { key: Buffer | null; value: Buffer | null }>>();
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const { logStartOffset, highWatermark } = store.offsets(CRASH_TOPIC, partition);
      expect(logStartOffset).toBe(0);
      const seen = new Map<number, { key: Buffer | null; value: Buffer | null }>();
      let expected = 0;
      while (expected < highWatermark) {
        const { batches } = store.read(CRASH_TOPIC, partition, expected, 1 << 20);
        for (const batch of batches) {
          for (const r of decodeRecordBatch(batch).records) {
            // Dense: each offset exactly once, in order, no gaps.
            if (r.offset !== expected) throw new Error(`partition ${partition}: offset ${r.offset} where ${expected} was expected`);
            expected++;
            seen.set(r.offset, { key: r.key, value: r.value });
          }
        }
      }
      expect(expected).toBe(highWatermark);
      records += seen.size;
      byPartition.set(partition, seen);
    }
    const problems: string[] = [];
    for (const ack of acks) {
      const record = byPartition.get(ack.partition)?.get(ack.offset);
      const where = `${CRASH_TOPIC}-${ack.partition}@${ack.offset}`;
      if (record === undefined) problems.push(`acknowledged ${where} is missing`);
      else if (!record.key?.equals(crashRecordKey(ack.worker))) problems.push(`${where} has the wrong key`);
      else if (!record.value?.equals(crashRecordValue(ack.worker, ack.seq))) problems.push(`${where} has the wrong value`);
    }
    expect(problems.slice(0, 10)).toEqual([]);
    return { records };
  } finally {
    await store.close();
  }
}

describe('crash safety of the log store (SIGKILL under load)', () => {
  it.each([
    { overlappingSync: true, kills: 20 },
    { overlappingSync: false, kills: 5 },
  ])('loses no acknowledged record across $kills kills (overlappingSync=$overlappingSync)', async ({ overlappingSync, kills }) => {
    expect(existsSync(CHILD), `${CHILD} is missing: run "npm run build" first (npm test does)`).toBe(true);
    const { dir, cleanup } = tempDir('weir-crash-');
    try {
      const allAcks: Ack[] = [];
      let lastRecords = 0;
      for (let round = 0; round < kills; round++) {
        const acks = await runAndKill(dir, overlappingSync, 50 + Math.floor(Math.random() * 400));
        allAcks.push(...acks);
        const { records } = await verify(dir, allAcks);
        // Offsets continue across restarts and every round made progress.
        expect(records).toBeGreaterThanOrEqual(lastRecords);
        lastRecords = records;
      }
      expect(allAcks.length).toBeGreaterThan(kills * 10);
      console.log(`crash test (overlappingSync=${overlappingSync}): ${kills} kills, ${allAcks.length} acknowledged appends verified, ${lastRecords} records on disk`);
    } finally {
      cleanup();
    }
  }, 240_000);
});
