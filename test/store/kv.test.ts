/** The store's small key/value state: prefix ranges, Buffers, durability across a reopen. */
import { afterEach, describe, expect, it } from 'vitest';
import { isWeirError } from '../../src/errors.js';
import { openTestStore, tempDir } from '../helpers/store.js';

describe('store.kv', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('keeps values by tuple key, lists a prefix in key order, and survives a reopen', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    let store = await openTestStore(t.dir);
    const kv = store.kv<{ payload: Buffer; n: number }>('mqtt');
    await Promise.all([
      kv.put(['q', 'c1', 10], { payload: Buffer.from('ten'), n: 10 }),
      kv.put(['q', 'c1', 2], { payload: Buffer.from('two'), n: 2 }),
      kv.put(['q', 'c10', 1], { payload: Buffer.from('other'), n: 1 }),
      kv.put(['r', 'a/b'], { payload: Buffer.from('r'), n: 0 }),
    ]);
    await store.kv('other').put(['q', 'c1', 1], 'not mine');
    expect([...kv.getRange(['q', 'c1'])].map((e) => e.key)).toEqual([['q', 'c1', 2], ['q', 'c1', 10]]);
    expect([...kv.getRange()].length).toBe(4);
    await kv.remove(['q', 'c1', 2]);
    await kv.remove(['q', 'missing']);
    await store.close();

    store = await openTestStore(t.dir);
    const again = store.kv<{ payload: Buffer; n: number }>('mqtt');
    const got = again.get(['q', 'c1', 10]);
    expect(Buffer.isBuffer(got?.payload)).toBe(true);
    expect(got?.payload.toString()).toBe('ten');
    expect(again.get(['q', 'c1', 2])).toBeUndefined();
    expect([...again.getRange(['q'])].map((e) => e.value.n)).toEqual([10, 1]);
    expect(store.kv('other').get(['q', 'c1', 1])).toBe('not mine');
    await store.close();
  });

  it('refuses keys LMDB cannot hold and writes after close, with WeirErrors', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const store = await openTestStore(t.dir);
    const kv = store.kv('mqtt');
    expect(() => kv.get(['x'.repeat(4000)])).toThrow(/more than/);
    expect(() => kv.get(['a\u0000b'])).toThrow(/U\+0000/);
    await store.close();
    let caught: unknown;
    try {
      await kv.put(['k'], 1);
    } catch (err) {
      caught = err;
    }
    expect(isWeirError(caught) && caught.code).toBe('STORE_CLOSED');
  });
});
