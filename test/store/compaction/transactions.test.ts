/**
 * The log cleaner and transactions (KIP-98), on a real LMDB store with client-built batches and
 * markers the store writes: aborted records go and never replace a committed value, an open
 * transaction is left alone until its marker, markers stay and are never taken as keys.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONTROL_TYPE_ABORT, CONTROL_TYPE_COMMIT, controlRecordType } from '../../../src/kafka/protocol/control-batch.js';
import { decodeRecordBatch, encodeRecordBatch, readBatchHeader } from '../../../src/kafka/protocol/record-batch.js';
import type { LogStore } from '../../../src/store/index.js';
import { openTestStore, tempDir } from '../../helpers/store.js';

const HOUR = 3_600_000;

describe('log compaction and transactions', () => {
  let dir: string;
  let cleanup: () => void;
  let store: LogStore;
  /** Each producer's next sequence. */
  const sequences = new Map<number, number>();

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir());
    sequences.clear();
    store = await openTestStore(dir);
    // Every batch is a segment of its own (segment.bytes below a batch): all but the last are closed.
    await store.createTopic('t', { configs: { 'cleanup.policy': 'compact', 'segment.bytes': '100', 'delete.retention.ms': String(HOUR) } });
  });

  afterEach(async () => {
    await store.close();
    cleanup();
  });

  /** A transactional batch of `producerId` with `records` ([key, value]); resolves to its base offset. */
  async function inTransaction(producerId: number, records: [Buffer | string, string][]): Promise<number> {
    const seq = sequences.get(producerId) ?? 0;
    sequences.set(producerId, seq + records.length);
    const batch = encodeRecordBatch({
      baseOffset: 0,
      records: records.map(([key, value]) => ({ key: Buffer.from(key), value: Buffer.from(value) })),
      producerId,
      producerEpoch: 0,
      baseSequence: seq,
      transactional: true,
    });
    return (await store.appendBatches('t', 0, batch)).baseOffset;
  }

  async function end(producerId: number, commit: boolean): Promise<number> {
    return (await store.appendTransactionMarker('t', 0, { producerId, producerEpoch: 0, commit, coordinatorEpoch: 0 })).baseOffset;
  }

  async function plain(key: Buffer | string, value: string): Promise<number> {
    return (await store.appendRecords('t', 0, [{ key: Buffer.from(key), value: Buffer.from(value) }])).baseOffset;
  }

  /** A record larger than segment.bytes: a segment of its own, the active one, so every earlier one is closed. */
  async function seal(): Promise<void> {
    await store.appendRecords('t', 0, [{ key: Buffer.from('sentinel'), value: Buffer.alloc(1000, 'a') }]);
  }

  /** The data records below the sentinels, read_uncommitted (what is stored). */
  function dataRecords(): { offset: number; key: string; value: string }[] {
    const out: { offset: number; key: string; value: string }[] = [];
    for (const batch of store.read('t', 0, store.offsets('t', 0).logStartOffset, 1 << 30).batches) {
      if (readBatchHeader(batch).isControl) continue;
      for (const r of decodeRecordBatch(batch).records) {
        if (r.key?.toString() !== 'sentinel') out.push({ offset: r.offset, key: r.key!.toString(), value: r.value!.toString() });
      }
    }
    return out;
  }

  /** The markers stored: [offset, type]. */
  function markers(): [number, number | null][] {
    return store
      .read('t', 0, store.offsets('t', 0).logStartOffset, 1 << 30)
      .batches.filter((b) => readBatchHeader(b).isControl)
      .map((b) => [readBatchHeader(b).baseOffset, controlRecordType(b)]);
  }

  it('removes an aborted write of a key and keeps the committed value it came after', async () => {
    await inTransaction(1, [['k', 'committed']]); // 0
    await end(1, true); // 1
    await inTransaction(1, [['k', 'aborted'], ['only-aborted', 'x']]); // 2-3
    await end(1, false); // 4
    await seal();

    const report = await store.runCompaction();
    expect(report.recordsRemoved).toBe(2);
    expect(dataRecords()).toEqual([{ offset: 0, key: 'k', value: 'committed' }]);
    // The markers stay where they were.
    expect(markers()).toEqual([
      [1, CONTROL_TYPE_COMMIT],
      [4, CONTROL_TYPE_ABORT],
    ]);
    // The aborted batch, emptied, went when the walk met its producer's marker after it.
    expect(store.read('t', 0, 0, 1 << 30).batches.map((b) => readBatchHeader(b).baseOffset)).toEqual([0, 1, 4, 5]);
  });

  it('removes aborted records whose ABORT marker lies past the compacted range (the active segment)', async () => {
    await plain('k', 'committed'); // 0
    await inTransaction(2, [['k', 'aborted']]); // 1
    await plain('other', 'o'); // 2
    await end(2, false); // 3: the active segment, never compacted
    expect(store.offsets('t', 0).lastStableOffset).toBe(4);

    expect((await store.runCompaction()).recordsRemoved).toBe(1);
    expect(dataRecords()).toEqual([
      { offset: 0, key: 'k', value: 'committed' },
      { offset: 2, key: 'other', value: 'o' },
    ]);
    expect(markers()).toEqual([[3, CONTROL_TYPE_ABORT]]);
  });

  it.each([
    ['aborted', false, [{ offset: 0, key: 'k', value: 'old' }]],
    ['committed', true, [{ offset: 1, key: 'k', value: 'new' }]],
  ] as const)('leaves an open transaction, and the value before it, untouched until its marker, then compacts it as %s', async (_, commit, after) => {
    await plain('k', 'old'); // 0
    await inTransaction(3, [['k', 'new']]); // 1: open
    await plain('k', 'newest-but-after-the-open-transaction'); // 2
    await seal(); // 3
    expect(store.offsets('t', 0).lastStableOffset).toBe(1);

    // Only [0, 1) is below the last stable offset: nothing there has a later value to give way to.
    await store.runCompaction();
    expect(dataRecords().map((r) => r.offset)).toEqual([0, 1, 2]);

    await end(3, commit); // 4
    await seal(); // 5
    await store.runCompaction();
    expect(dataRecords()).toEqual([{ offset: 2, key: 'k', value: 'newest-but-after-the-open-transaction' }]);

    // The same without the plain value after it: the transaction's outcome decides what stays.
    await store.close();
    cleanup();
    ({ dir, cleanup } = tempDir());
    sequences.clear();
    store = await openTestStore(dir);
    await store.createTopic('t', { configs: { 'cleanup.policy': 'compact', 'segment.bytes': '100' } });
    await plain('k', 'old'); // 0
    await inTransaction(3, [['k', 'new']]); // 1: open
    await seal(); // 2
    await store.runCompaction();
    expect(dataRecords().map((r) => r.offset)).toEqual([0, 1]);
    await end(3, commit); // 3
    await seal(); // 4
    await store.runCompaction();
    expect(dataRecords()).toEqual(after);
  });

  it('a pass interrupted between chunks keeps every committed latest value, and the rerun ends as one pass would', async () => {
    let interruptAt = 1;
    const compactionTestHooks = {
      chunkBytes: 150,
      betweenChunks: (chunk: number) => {
        if (chunk === interruptAt) throw new Error('interrupted');
      },
    };
    await store.close();
    store = await openTestStore(dir, { compactionTestHooks });
    const keys = ['a', 'b', 'c', 'd'];
    // Rounds 0-5 write every key in a transaction, the odd ones aborted: round 4 holds the latest committed values.
    for (let round = 0; round < 6; round++) {
      const producerId = 10 + (round % 2);
      await inTransaction(producerId, keys.map((k) => [k, `round-${round}`]));
      await end(producerId, round % 2 === 0);
    }
    await seal();
    const latest = keys.map((key, i) => ({ offset: 4 * 5 + i, key, value: 'round-4' }));

    await expect(store.runCompaction()).rejects.toThrow('interrupted');
    const partial = dataRecords();
    for (const record of latest) expect(partial).toContainEqual(record);
    expect(partial.length).toBeGreaterThan(latest.length);

    interruptAt = -1;
    await store.close();
    store = await openTestStore(dir, { compactionTestHooks });
    expect(dataRecords()).toEqual(partial);
    await store.runCompaction();
    expect(dataRecords()).toEqual(latest);
    expect(markers().map(([, type]) => type)).toEqual([1, 0, 1, 0, 1, 0]);
  });

  it('removes a marker once no record of its transaction is left and delete.retention.ms has passed, an ABORT with its index row', async () => {
    const now = Date.now();
    await inTransaction(1, [['k', 'first']]); // 0
    await end(1, true); // 1
    await inTransaction(2, [['k', 'aborted']]); // 2
    await end(2, false); // 3
    await inTransaction(1, [['k', 'second']]); // 4
    await end(1, true); // 5: its record is the latest value of k
    await seal(); // 6
    expect(store.abortedTransactions('t', 0, 0, 7)).toEqual([{ producerId: 2, firstOffset: 2 }]);

    // The first pass removes 'first' (replaced) and 'aborted'; it met their batches, so their markers stay.
    await store.runCompaction(now);
    expect(dataRecords()).toEqual([{ offset: 4, key: 'k', value: 'second' }]);
    expect(markers().map(([offset]) => offset)).toEqual([1, 3, 5]);

    // The next pass (more writes make the partition due) finds those two markers alone: they wait
    // for their segment's horizon (delete.retention.ms after the pass that first compacted it,
    // as tombstones do), and make the partition due once it is past.
    await plain('other', 'o'); // 7
    await seal(); // 8
    await store.runCompaction(now + 1000);
    expect(markers().map(([offset]) => offset)).toEqual([1, 3, 5]);
    expect(store.abortedTransactions('t', 0, 0, 9)).toHaveLength(1);
    expect(await store.runCompaction(now + HOUR)).toEqual({ partitionsCompacted: 0, recordsRemoved: 0, bytesReclaimed: 0 });

    const report = await store.runCompaction(now + HOUR + 1);
    expect(report.recordsRemoved).toBe(2);
    expect(markers()).toEqual([[5, CONTROL_TYPE_COMMIT]]);
    expect(store.abortedTransactions('t', 0, 0, 9)).toEqual([]);
    expect(dataRecords()).toEqual([
      { offset: 4, key: 'k', value: 'second' },
      { offset: 7, key: 'other', value: 'o' },
    ]);
    expect(store.stats().usedBytes).toBe(store.read('t', 0, 0, 1 << 30).batches.reduce((sum, b) => sum + b.length, 0));
  });

  it("never takes a marker's record as a key: records whose key has a marker key's bytes stay", async () => {
    // A marker's record key is version (INT16 0) and type (INT16: 0 ABORT, 1 COMMIT).
    await plain(Buffer.from([0, 0, 0, 1]), 'looks-like-a-commit-key'); // 0
    await plain(Buffer.from([0, 0, 0, 0]), 'looks-like-an-abort-key'); // 1
    await inTransaction(4, [['x', 'committed']]); // 2
    await end(4, true); // 3
    await inTransaction(4, [['y', 'aborted']]); // 4
    await end(4, false); // 5
    await seal();

    await store.runCompaction();
    expect(dataRecords()).toEqual([
      { offset: 0, key: '\0\0\0\x01', value: 'looks-like-a-commit-key' },
      { offset: 1, key: '\0\0\0\0', value: 'looks-like-an-abort-key' },
      { offset: 2, key: 'x', value: 'committed' },
    ]);
    expect(markers()).toEqual([
      [3, CONTROL_TYPE_COMMIT],
      [5, CONTROL_TYPE_ABORT],
    ]);
  });
});
