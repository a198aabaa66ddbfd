/**
 * The flush policy (Kafka's `flush.ms` / `flush.messages`, acks waiting for the flush) and the
 * recovery of what commits no longer write: the next offset and the active segment's counters.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FLUSH_BYTES, FlushWindow } from '../../src/store/flush-window.js';
import type { LogStore } from '../../src/store/index.js';
import { openTestStore, tempDir } from '../helpers/store.js';

const HANG = join(import.meta.dirname, '../../dist/test/helpers/append-then-hang.js');

describe('FlushWindow', () => {
  const waiter = (deadline: number, messages = Infinity, records = 1, bytes = 100) => ({ flushDeadline: deadline, flushMessages: messages, recordCount: records, bytes });

  it('is due at the earliest deadline, at flush.messages records, or at FLUSH_BYTES', () => {
    const w = new FlushWindow();
    expect(w.isDue(0)).toBe(false);
    w.add(waiter(500));
    w.add(waiter(200));
    expect(w.isDue(199)).toBe(false);
    expect(w.msUntilDue(100)).toBe(100);
    expect(w.isDue(200)).toBe(true);

    w.reset([waiter(1000, 3, 2)]);
    expect(w.isDue(0)).toBe(false);
    w.add(waiter(1000, 10, 1));
    expect(w.isDue(0)).toBe(true);

    w.reset([waiter(1000, Infinity, 1, FLUSH_BYTES - 1)]);
    expect(w.isDue(0)).toBe(false);
    w.add(waiter(1000, Infinity, 1, 1));
    expect(w.isDue(0)).toBe(true);
    w.reset([]);
    expect(w.isDue(Number.MAX_SAFE_INTEGER)).toBe(false);
  });
});

describe('the flush window of a store', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: LogStore;

  beforeEach(async () => {
    tmp = tempDir();
    store = await openTestStore(tmp.dir);
  });

  afterEach(async () => {
    await store.close();
    tmp.cleanup();
  });

  it('holds acks until flush.ms has passed, then commits everything waiting at once', async () => {
    await store.createTopic('slow', { configs: { 'flush.ms': '300' } });
    const commitsBefore = store.stats().commits;
    const started = performance.now();
    const acked: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, i * 5));
        await store.appendRecords('slow', 0, [{ key: null, value: Buffer.from(`r${i}`) }]);
        acked.push(performance.now() - started);
      }),
    );
    expect(Math.min(...acked)).toBeGreaterThanOrEqual(290);
    expect(store.stats().commits - commitsBefore).toBe(1);
    expect(store.offsets('slow', 0).highWatermark).toBe(20);
  });

  it('commits early once flush.messages records wait', async () => {
    await store.createTopic('counted', { configs: { 'flush.ms': '60000', 'flush.messages': '5' } });
    const started = performance.now();
    await Promise.all(Array.from({ length: 5 }, (_, i) => store.appendRecords('counted', 0, [{ key: null, value: Buffer.from(`r${i}`) }])));
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('lets a topic without a window commit at once, carrying what waits on other topics', async () => {
    await store.createTopic('slow', { configs: { 'flush.ms': '60000' } });
    await store.createTopic('fast');
    const commitsBefore = store.stats().commits;
    const slow = store.appendRecords('slow', 0, [{ key: null, value: Buffer.from('waits') }]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await Promise.all([slow, store.appendRecords('fast', 0, [{ key: null, value: Buffer.from('now') }])]);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(store.stats().commits - commitsBefore).toBe(1);
  });

  it('commits what waits when the store closes', async () => {
    await store.createTopic('slow', { configs: { 'flush.ms': '60000' } });
    const pending = store.appendRecords('slow', 0, [{ key: null, value: Buffer.from('waits') }]);
    const closing = store.close();
    await expect(pending).resolves.toMatchObject({ baseOffset: 0 });
    await closing;
    store = await openTestStore(tmp.dir);
    expect(store.offsets('slow', 0).highWatermark).toBe(1);
  });
});

describe('recovery of the counters commits do not write', () => {
  it('rebuilds the next offset and the active segment from the stored batches after a SIGKILL', async () => {
    const tmp = tempDir();
    try {
      // 4 KiB segments: several rolls (rows written), then an active segment whose row is stale.
      const child = spawn(process.execPath, [HANG, tmp.dir, '200', '4096'], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => line === 'done' && resolve());
        child.once('exit', (code) => reject(new Error(`append-then-hang exited early (${code})`)));
      });
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));

      const store = await openTestStore(tmp.dir);
      try {
        const p = store.describeTopic('t').partitions[0]!;
        expect(p.highWatermark).toBe(200);
        const read = store.read('t', 0, 0, 1 << 30);
        expect(p.sizeBytes).toBe(read.bytes);
        expect(p.segments).toBeGreaterThan(3);
        // ListOffsets by time reads the active segment's recovered max timestamp.
        expect(store.offsetForTimestamp('t', 0, 1_000_000 + 199)).toMatchObject({ offset: 199 });
        const next = await store.appendRecords('t', 0, [{ key: null, value: Buffer.from('after') }]);
        expect(next.baseOffset).toBe(200);
      } finally {
        await store.close();
      }
    } finally {
      tmp.cleanup();
    }
  });
});
