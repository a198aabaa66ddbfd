/**
 * A transaction's outcome is all or nothing across a SIGKILL: its markers in every partition, its
 * group offset and its kv row are in one LMDB transaction, also while large other appends keep
 * the writer busy. Acknowledged outcomes are all there. (That the group commit
 * never splits a transaction's markers across two commits is tested in group-commit.test.ts.)
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { openTestStore, tempDir } from '../../helpers/store.js';
import { controlRecordType } from '../../../src/kafka/protocol/control-batch.js';
import { readBatchHeader } from '../../../src/kafka/protocol/record-batch.js';
import type { LogStore } from '../../../src/store/index.js';

const CHILD = join(import.meta.dirname, '../../../dist/test/helpers/outcome-crash-child.js');
const KILLS = 6;

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

/** Runs the child until it has acknowledged a few outcomes, then kills it; the acknowledged producer ids. */
function runAndKill(dir: string, firstProducerId: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(firstProducerId)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const done: number[] = [];
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const killAfter = 5 + Math.floor(Math.random() * 40);
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('done ')) return;
      done.push(Number(line.slice(5)));
      if (done.length === killAfter) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(done) : reject(new Error(`child ended ${code}/${signal}: ${err}`))));
  });
}

/** Producer id → the markers it has in out-0..2 (one per partition at most). */
function markers(store: LogStore): Map<number, number> {
  const count = new Map<number, number>();
  for (let p = 0; p < 3; p++) {
    const { highWatermark } = store.offsets('out', p);
    let offset = 0;
    while (offset < highWatermark) {
      const r = store.read('out', p, offset, 1 << 20);
      for (const b of r.batches) {
        const h = readBatchHeader(b);
        if (controlRecordType(b) === 1) count.set(h.producerId, (count.get(h.producerId) ?? 0) + 1);
        offset = h.baseOffset + h.lastOffsetDelta + 1;
      }
    }
  }
  return count;
}

describe('transaction outcomes across SIGKILLs', () => {
  it(`are all or nothing, and every acknowledged one is there (${KILLS} kills)`, async () => {
    const t = tempDir('weir-outcome-crash-');
    cleanup = t.cleanup;
    const acknowledged: number[] = [];
    let partial = 0;
    const found = new Set<number>();
    for (let kill = 0; kill < KILLS; kill++) {
      acknowledged.push(...(await runAndKill(t.dir, (kill + 1) * 1_000_000)));
      const store = await openTestStore(t.dir);
      try {
        for (const [producerId, n] of markers(store)) {
          found.add(producerId);
          if (n !== 3) partial++;
          const kv = store.kv<number>('outcomes').get([producerId]);
          const offsets = store.fetchGroupOffsets(`g${producerId}`);
          expect({ producerId, markers: n, kv, offsets: offsets.length }).toEqual({ producerId, markers: 3, kv: producerId, offsets: 1 });
        }
        for (const producerId of acknowledged) expect(store.kv<number>('outcomes').get([producerId]), `acknowledged ${producerId}`).toBe(producerId);
        // No kv row without its markers either.
        for (const { key } of store.kv<number>('outcomes').getRange()) expect(markers(store).get(key[0] as number)).toBe(3);
      } finally {
        await store.close();
      }
    }
    console.log(`outcome crash: ${KILLS} kills, ${acknowledged.length} acknowledged outcomes, ${found.size} outcomes found, ${partial} partial`);
    expect(acknowledged.length).toBeGreaterThan(KILLS * 5 - 1);
  }, 120_000);
});
