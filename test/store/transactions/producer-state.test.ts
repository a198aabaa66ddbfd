/**
 * The log's view of idempotent producers survives a close and a crash: at open it is rebuilt from
 * the snapshot written with the active segment's row plus the batches after it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openTestStore, tempDir } from '../../helpers/store.js';
import { producerBatch } from '../../helpers/producer-batches.js';

const CHILD = join(import.meta.dirname, '../../../dist/test/helpers/producer-crash-child.js');

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function dir(): string {
  const t = tempDir('weir-producers-');
  cleanups.push(t.cleanup);
  return t.dir;
}

interface Ack {
  producerId: number;
  seq: number;
  count: number;
  baseOffset: number;
}

function runChild(dataDir: string, rounds: number, segmentBytes: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dataDir, String(rounds), String(segmentBytes)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`child ended with ${code}/${signal}: ${err}`));
      resolve(out.trim().split('\n').filter((l) => l.startsWith('ack ')).map((l) => {
        const [, producerId, seq, count, baseOffset] = l.split(' ').map(Number);
        return { producerId: producerId!, seq: seq!, count: count!, baseOffset: baseOffset! };
      }));
    });
  });
}

describe('producer state in the log', () => {
  it('is rebuilt after a SIGKILL from the snapshot and the batches after it', async () => {
    const d = dir();
    // 4 KiB segments roll often (a snapshot at each roll); the batches after the last roll are
    // read back at open.
    const acks = await runChild(d, 300, 4096);
    expect(acks).toHaveLength(300);
    const store = await openTestStore(d);
    try {
      for (const producerId of [101, 102, 103]) {
        const mine = acks.filter((a) => a.producerId === producerId);
        const state = store.producerState('t', 0, producerId);
        expect(state, `producer ${producerId}`).toBeDefined();
        expect(state!.batches).toEqual(mine.slice(-5).map((a) => ({
          firstSeq: a.seq, lastSeq: a.seq + a.count - 1, firstOffset: a.baseOffset, lastOffset: a.baseOffset + a.count - 1,
        })));
        expect(state!.txnFirstOffset).toBe(-1);
      }
      expect(store.producerState('t', 0, 999)).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('survives a clean close and reopen, and is forgotten after producer.id.expiration.ms', async () => {
    const d = dir();
    let store = await openTestStore(d);
    await store.createTopic('t', { partitions: 1 });
    await store.appendBatches('t', 0, producerBatch({ producerId: 7, seq: 0, count: 3 }));
    await store.appendBatches('t', 0, producerBatch({ producerId: 7, seq: 3, count: 2 }));
    await store.close();
    store = await openTestStore(d);
    expect(store.producerState('t', 0, 7)).toMatchObject({ producerEpoch: 0, batches: [
      { firstSeq: 0, lastSeq: 2, firstOffset: 0, lastOffset: 2 },
      { firstSeq: 3, lastSeq: 4, firstOffset: 3, lastOffset: 4 },
    ] });
    await store.close();
    store = await openTestStore(d, { producerIdExpirationMs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    expect(store.producerState('t', 0, 7)).toBeUndefined();
    await store.close();
  });

  it('keeps no producer rows for partitions that never had producers', async () => {
    const d = dir();
    const store = await openTestStore(d);
    await store.createTopic('t', { partitions: 1 });
    await store.appendRecords('t', 0, [{ key: null, value: Buffer.from('plain') }]);
    await store.close();
    const reopened = await openTestStore(d);
    expect(reopened.producerState('t', 0, -1)).toBeUndefined();
    await reopened.close();
  });
});
