import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { appendsForNextTransaction } from '../../src/store/group-commit.js';
import type { LogStore } from '../../src/store/types.js';
import { openTestStore, tempDir } from '../helpers/store.js';

/** Opens a store with topic `t`, runs `body`, then closes and removes it. */
async function withStore(body: (store: LogStore) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir();
  const store = await openTestStore(dir);
  try {
    await store.createTopic('t');
    await body(store);
  } finally {
    await store.close();
    cleanup();
  }
}

/**
 * How appends share transactions. Each durable commit costs a flush (~0.4 ms of CPU, mostly the
 * kernel's fdatasync) whatever its size, so small appends must not each get their own while one
 * is in flight; large amounts waiting may overlap with it.
 */
describe('group commit', () => {
  it('puts every small append made while a transaction is in flight into the next one', () =>
    withStore(async (store) => {
      const before = store.stats().commits;
      let firstDone = false;
      const first = store.appendRecords('t', 0, [{ key: null, value: Buffer.from('first') }]).then(() => (firstDone = true));
      await nextTurn(); // the first transaction is issued on the turn after the append
      expect(store.stats().commits - before).toBe(1);
      // One small append per event-loop turn until the first transaction is durable: with a
      // transaction per turn these would be as many commits (four at a time). At most 200 (about
      // 16 KiB): past 64 KiB waiting, a second transaction may start by design (the next test),
      // which a slow first flush on a loaded machine would reach.
      const during: Promise<unknown>[] = [];
      while (!firstDone && during.length < 200) {
        during.push(store.appendRecords('t', 0, [{ key: null, value: Buffer.from(`during-${during.length}`) }]));
        await nextTurn();
      }
      await Promise.all([first, ...during]);
      expect(during.length).toBeGreaterThan(1);
      expect(store.stats().commits - before).toBe(2);
      expect(store.offsets('t', 0).highWatermark).toBe(1 + during.length);
    }));

  it('starts a second transaction before the first is durable when 64 KiB or more waits', () =>
    withStore(async (store) => {
      const before = store.stats().commits;
      let firstDone = false;
      const first = store.appendRecords('t', 0, [{ key: null, value: Buffer.alloc(100 * 1024, 1) }]).then(() => (firstDone = true));
      await nextTurn();
      const second = store.appendRecords('t', 0, [{ key: null, value: Buffer.alloc(100 * 1024, 2) }]);
      await nextTurn();
      const overlapped = !firstDone && store.stats().commits - before === 2;
      await Promise.all([first, second]);
      expect(overlapped).toBe(true);
      expect(store.offsets('t', 0).highWatermark).toBe(2);
    }));
});

describe('what one transaction takes off the queue', () => {
  const KiB = 1024;
  it('stops at the byte cap, but always takes one', () => {
    expect(appendsForNextTransaction([{ bytes: 600 * KiB }, { bytes: 600 * KiB }, { bytes: 10 }], 1024 * KiB)).toBe(2);
    expect(appendsForNextTransaction([{ bytes: 3000 * KiB }, { bytes: 10 }], 1024 * KiB)).toBe(1);
  });

  it("never leaves a transaction's markers split across two commits", () => {
    // Past the cap after the second append, which joins the next two: all three go together.
    const queue = [{ bytes: 900 * KiB }, { bytes: 200 * KiB, joinsNext: true }, { bytes: 100, joinsNext: true }, { bytes: 100 }, { bytes: 100 }];
    expect(appendsForNextTransaction(queue, 1024 * KiB)).toBe(4);
  });
});
