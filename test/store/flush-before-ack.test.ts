/**
 * An append is acknowledged only once its transaction is flushed to disk, not when it commits:
 * the kill tests cannot tell the two apart (a SIGKILL after the commit keeps the page cache), so
 * this holds the flush back with a fake hook on the real LMDB environment and watches the waiters.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { kafkaTopicDefaults } from '../../src/store/index.js';
import { GroupCommitter, type CommitHooks } from '../../src/store/group-commit.js';
import { logKey } from '../../src/store/keys.js';
import { openLmdbEnv, type CommitPromise, type LmdbEnv } from '../../src/store/lmdb-env.js';
import { loadPartition, type PartitionState } from '../../src/store/partition.js';
import type { PendingAppend } from '../../src/store/pending-append.js';
import type { AppendResult } from '../../src/store/types.js';
import { silentLogger, tempDir } from '../helpers/store.js';

interface Gate {
  promise: Promise<void>;
  open(): void;
  fail(err: Error): void;
}

function gate(): Gate {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  promise.catch(() => undefined);
  return { promise, open, fail };
}

/**
 * The environment with every transaction's `flushed` promise held until `flush` opens, after
 * the real flush: commits happen as usual, only the flush seems slow. `committed` counts the
 * transactions LMDB has committed.
 */
function withHeldFlush(env: LmdbEnv, flush: Gate): { env: LmdbEnv; committed: () => number } {
  let committed = 0;
  const hold = (write: CommitPromise): CommitPromise => {
    const held: CommitPromise = write.then((applied) => {
      committed++;
      return applied;
    });
    held.flushed = Promise.all([write.flushed, flush.promise]);
    return held;
  };
  const batches = new Proxy(env.batches, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const method = (value as (...args: unknown[]) => unknown).bind(target);
      if (prop === 'batch' || prop === 'ifVersion') return (...args: unknown[]) => hold(method(...args) as CommitPromise);
      return method;
    },
  });
  return { env: { ...env, batches }, committed: () => committed };
}

function pendingAppend(partition: PartitionState, values: string[], waiter: PendingAppend['waiter']): PendingAppend {
  const config = kafkaTopicDefaults();
  const records = values.map((v) => ({ key: null, value: Buffer.from(v) }));
  const bytes = values.reduce((sum, v) => sum + v.length + 20, 0);
  return {
    partition,
    config,
    records,
    batches: undefined,
    recordCount: records.length,
    bytes,
    payloadBytes: bytes,
    unqueued: false,
    flushDeadline: performance.now(),
    flushMessages: config['flush.messages'],
    baseOffset: -1,
    lastOffset: -1,
    waiter,
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 5_000) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('flush before ack', () => {
  let env: LmdbEnv;
  let cleanup: () => void;
  let hooks: CommitHooks;

  beforeEach(() => {
    const dir = tempDir();
    cleanup = dir.cleanup;
    env = openLmdbEnv(dir.dir, true);
    hooks = {
      onDurable: vi.fn(),
      onQueueDrained: vi.fn(),
      recoverAfterFailure: vi.fn(() => Promise.resolve()),
      onCommitFailed: vi.fn(),
    };
  });

  afterEach(async () => {
    await env.root.close();
    cleanup();
  });

  /** A committer whose flushes wait for `flush`, one partition, and the outcomes its waiter saw. */
  function committerWithHeldFlush() {
    const flush = gate();
    const held = withHeldFlush(env, flush);
    const committer = new GroupCommitter(held.env, silentLogger, hooks);
    const partition = loadPartition(env, silentLogger, 1, 't', 0);
    const outcomes: { err: unknown; result?: AppendResult }[] = [];
    const waiter = { appendSettled: (err: unknown, result?: AppendResult) => void outcomes.push({ err, result }) };
    return { flush, held, committer, partition, outcomes, waiter };
  }

  it('settles the waiters and moves the high watermark only after the flush completes', async () => {
    const { flush, held, committer, partition, outcomes, waiter } = committerWithHeldFlush();

    committer.enqueue(pendingAppend(partition, ['a', 'b'], waiter));
    await until(() => held.committed() === 1, 'the commit');
    // The records are committed (a reader of the environment sees them) but not yet flushed.
    expect(env.batches.get(logKey(1, 0))).toBeInstanceOf(Buffer);
    await sleep(50);
    expect(outcomes).toEqual([]);
    expect(partition.highWatermark).toBe(0);
    expect(hooks.onDurable).not.toHaveBeenCalled();

    flush.open();
    await until(() => outcomes.length === 1, 'the ack');
    expect(outcomes[0]).toEqual({ err: null, result: { baseOffset: 0, lastOffset: 1, logStartOffset: 0 } });
    expect(partition.highWatermark).toBe(2);
    expect(hooks.onDurable).toHaveBeenCalledOnce();
    await committer.idle();
  });

  it('fails the waiters when the flush fails, though the commit succeeded', async () => {
    const { flush, held, committer, partition, outcomes, waiter } = committerWithHeldFlush();

    committer.enqueue(pendingAppend(partition, ['a'], waiter));
    await until(() => held.committed() === 1, 'the commit');
    flush.fail(new Error('EIO'));
    await until(() => outcomes.length === 1, 'the failure');
    expect(outcomes[0]!.err).toMatchObject({ code: 'STORAGE_ERROR' });
    expect(outcomes[0]!.result).toBeUndefined();
    expect(partition.highWatermark).toBe(0);
    expect(hooks.onCommitFailed).toHaveBeenCalledOnce();
    await committer.idle();
    expect(hooks.recoverAfterFailure).toHaveBeenCalledOnce();
  });
});
