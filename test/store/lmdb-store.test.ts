import { describe, expect, it } from 'vitest';
import { openTestStore, tempDir } from '../helpers/store.js';
import { expectWeirError, recordsOf, storeContract } from './contract.js';

storeContract('LMDB', () => {
  const { dir, cleanup } = tempDir();
  return { open: (overrides) => openTestStore(dir, overrides), cleanup };
});

describe('LMDB store across restarts', () => {
  it('keeps topics, records, offsets, group offsets and cursors, and continues offsets', async () => {
    const { dir, cleanup } = tempDir();
    try {
      let store = await openTestStore(dir);
      await store.createTopic('t', { partitions: 2, configs: { 'retention.ms': '1000000' } });
      await store.appendRecords('t', 1, [{ key: Buffer.from('k'), value: Buffer.from('a') }]);
      await store.appendRecords('t', 1, [{ key: null, value: Buffer.from('b') }]);
      await store.commitGroupOffsets('g', [{ topic: 't', partition: 1, offset: 1, leaderEpoch: -1, metadata: 'x' }]);
      await store.setCursor('mirror', 't', 1, 1);
      await store.close();

      store = await openTestStore(dir);
      expect(store.describeTopic('t').config['retention.ms']).toBe(1_000_000);
      expect(store.offsets('t', 1)).toEqual({ logStartOffset: 0, highWatermark: 2, lastStableOffset: 2 });
      expect(store.fetchGroupOffsets('g')[0]).toMatchObject({ offset: 1, metadata: 'x' });
      expect(store.getCursor('mirror', 't', 1)).toBe(1);
      const r = await store.appendRecords('t', 1, [{ key: null, value: Buffer.from('c') }]);
      expect(r.baseOffset).toBe(2);
      expect(recordsOf(store, 't', 1).map((x) => x.value)).toEqual(['a', 'b', 'c']);
      await store.close();
    } finally {
      cleanup();
    }
  });

  it('opens a data dir whose name has a dot in it (lmdb-js would take it for a file)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const { join } = await import('node:path');
      const store = await openTestStore(join(dir, 'weir.data'));
      await store.createTopic('t');
      await store.appendRecords('t', 0, [{ key: null, value: Buffer.from('x') }]);
      await store.close();
    } finally {
      cleanup();
    }
  });

  it('refuses a second process-level opener of the same data dir while the first holds it', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const store = await openTestStore(dir);
      // Same process: the lock file names our own pid, which is alive, so a second open is refused
      // only if the holder is another process; simulate one with the parent's pid.
      const { writeFileSync } = await import('node:fs');
      const { join } = await import('node:path');
      await store.close();
      writeFileSync(join(dir, 'weir.lock'), `${process.ppid}\n`);
      await expectWeirError(openTestStore(dir), 'STORE_LOCKED');
      // A lock left by a process that no longer exists is taken over.
      writeFileSync(join(dir, 'weir.lock'), '999999999\n');
      const again = await openTestStore(dir);
      await again.close();
    } finally {
      cleanup();
    }
  });

  it('rejects appends after close with a retriable STORE_CLOSED', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const store = await openTestStore(dir);
      await store.createTopic('t');
      const pending = store.appendRecords('t', 0, [{ key: null, value: Buffer.from('in flight') }]);
      const closing = store.close();
      await expectWeirError(store.appendRecords('t', 0, [{ key: null, value: null }]), 'STORE_CLOSED');
      // The append queued before close still lands.
      expect((await pending).baseOffset).toBe(0);
      await closing;
      const reopened = await openTestStore(dir);
      expect(reopened.offsets('t', 0).highWatermark).toBe(1);
      await reopened.close();
    } finally {
      cleanup();
    }
  });
});
