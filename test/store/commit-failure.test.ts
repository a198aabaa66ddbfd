/**
 * A group commit that fails for a reason other than a full filesystem (here an injected EIO from
 * the flush of one transaction): its appends fail retriably, the failure is reported while it
 * lasts, and once the committer has reloaded offsets from disk one retried write decides: it
 * succeeds, so the failure clears and appends resume, with dense offsets.
 */
import { describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { isWeirError } from '../../src/errors.js';
import { openStore } from '../../src/store/index.js';
import { failNextFlush } from '../helpers/fail-flush.js';
import { storeOptions, tempDir } from '../helpers/store.js';
import { recordsOf } from './contract.js';

describe('a failed group commit that is not a full disk', () => {
  it('is reported, then recovered from: the retried write succeeds and appends resume', async () => {
    const { dir, cleanup } = tempDir();
    const lines: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) });
    const store = await openStore(storeOptions(dir), logger);
    try {
      await store.createTopic('t');
      await store.appendRecords('t', 0, [{ key: null, value: Buffer.from('before') }]);

      failNextFlush(store);
      const failed = await store.appendRecords('t', 0, [{ key: null, value: Buffer.from('failed') }]).catch((e: unknown) => e);
      expect(isWeirError(failed, 'STORAGE_ERROR') && failed.retriable).toBe(true);
      await vi.waitFor(() => expect(lines.some((l) => l.level === 60 && /^storage failure: LMDB failed to write .*EIO/.test(l.msg))).toBe(true));

      await vi.waitFor(() => expect(store.stats().storageFailure).toBeUndefined(), { timeout: 2000 });
      expect(lines.some((l) => l.level === 40 && /storage recovered/.test(l.msg))).toBe(true);
      const { highWatermark } = store.offsets('t', 0);
      const after = await store.appendRecords('t', 0, [{ key: null, value: Buffer.from('after') }]);
      expect(after.baseOffset).toBe(highWatermark);
      // The failed append's batch reached the disk before its flush failed: whether it is kept is
      // what the disk says; either way the offsets stay dense.
      expect(recordsOf(store, 't', 0).map((r) => r.value)).toEqual(highWatermark === 2 ? ['before', 'failed', 'after'] : ['before', 'after']);
    } finally {
      await store.close();
      cleanup();
    }
  });
});
