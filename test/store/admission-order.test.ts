/**
 * Admission into the write queue keeps each partition's arrival order: an append that has to wait
 * for room holds every later append to its partition behind it, even one that would fit (a Kafka
 * partition's log is in the order its Produce requests arrived; MQTT 3.1.1 §4.6 orders a topic's
 * messages). Other partitions are not held by it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppendResult, LogStore } from '../../src/store/index.js';
import { openTestStore, tempDir } from '../helpers/store.js';
import { expectWeirError, recordsOf } from './contract.js';

const record = (size: number, tag: string) => ({ key: null, value: Buffer.alloc(size, tag) });
const FILLER_TAGS = 'abcdefgh';
const records = (n: number, size: number, tag: string) => Array.from({ length: n }, () => record(size, tag));

describe('write queue admission keeps arrival order per partition', () => {
  let dir: string;
  let cleanup: () => void;
  let store: LogStore;
  /** Which appends settled, in the order they did. */
  let settled: string[];

  const track = (name: string, append: Promise<AppendResult>) =>
    append.then(
      (result) => {
        settled.push(name);
        return result;
      },
      (err: unknown) => {
        settled.push(`${name} refused`);
        throw err;
      },
    );

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    settled = [];
  });

  afterEach(async () => {
    await store.close();
    cleanup();
  });

  it('a small append behind a waiting big one to the same partition gets offsets after it; another partition is not held', async () => {
    store = await openTestStore(dir, { writeQueueMaxRecords: 10, blockTimeoutMs: 5_000 });
    await store.createTopic('t', { partitions: 2 });
    // Appends made in one event-loop turn stay queued until the next commit: 8 of the 10 places.
    const fillers = Array.from({ length: 8 }, (_, i) => track(`filler ${i}`, store.appendRecords('t', 0, [record(10, FILLER_TAGS[i]!)])));
    const big = track('big', store.appendRecords('t', 0, records(5, 100, 'B'))); // 8 + 5 > 10: waits
    const small = track('small', store.appendRecords('t', 0, [record(10, 's')])); // 8 + 1 would fit
    const other = track('other partition', store.appendRecords('t', 1, [record(10, 'o')]));

    const [bigAt, smallAt, otherAt] = await Promise.all([big, small, other]);
    expect((await Promise.all(fillers)).map((r) => r.baseOffset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(bigAt).toMatchObject({ baseOffset: 8, lastOffset: 12 });
    expect(smallAt).toMatchObject({ baseOffset: 13, lastOffset: 13 });
    expect(otherAt).toMatchObject({ baseOffset: 0, lastOffset: 0 });
    // Partition 1 went in with the first commit, while the big append still waited for room.
    expect(settled.indexOf('other partition')).toBeLessThan(settled.indexOf('big'));
    expect(settled.indexOf('big')).toBeLessThan(settled.indexOf('small'));

    expect(recordsOf(store, 't', 0).map((r) => r.value![0]).join('')).toBe(`${FILLER_TAGS}BBBBBs`);
  });

  it('reject-new still refuses at once behind a waiting append, and the refusal leaves no hole or reordering', async () => {
    store = await openTestStore(dir, { writeQueueMaxRecords: 10, diskBudgetBytes: 4_000, blockTimeoutMs: 5_000 });
    await store.createTopic('t', { configs: { 'weir.overflow.policy': 'reject-new' } });
    const fillers = Array.from({ length: 8 }, (_, i) => track(`filler ${i}`, store.appendRecords('t', 0, [record(10, FILLER_TAGS[i]!)])));
    const big = track('big', store.appendRecords('t', 0, records(5, 100, 'B'))); // the queue is full, not the budget: waits
    const tooBig = track('over budget', store.appendRecords('t', 0, [record(3_900, 'x')])); // the budget is full: refused
    const small = track('small', store.appendRecords('t', 0, [record(10, 's')]));

    await expectWeirError(() => tooBig, 'DISK_BUDGET_FULL');
    expect(settled).toEqual(['over budget refused']); // at once: nothing had committed yet
    await Promise.all(fillers);
    expect(await big).toMatchObject({ baseOffset: 8, lastOffset: 12 });
    expect(await small).toMatchObject({ baseOffset: 13, lastOffset: 13 });
    expect(store.offsets('t', 0).highWatermark).toBe(14);
  });

  it('an append in line times out block_timeout_ms after it arrived, not after its turn; a timed-out one leaves no hole', async () => {
    store = await openTestStore(dir, { writeQueueMaxRecords: 10, blockTimeoutMs: 200 });
    // flush.ms keeps the fillers queued, so the queue stays full past the block timeout.
    await store.createTopic('t', { configs: { 'flush.ms': '1000' } });
    const fillers = Array.from({ length: 8 }, (_, i) => store.appendRecords('t', 0, [record(10, FILLER_TAGS[i]!)]));
    const refusedAt: number[] = [];
    const refusal = (append: Promise<AppendResult>) => expectWeirError(append, 'WRITE_QUEUE_FULL').then(() => refusedAt.push(performance.now()));
    const first = refusal(store.appendRecords('t', 0, records(5, 100, 'B')));
    const second = refusal(store.appendRecords('t', 0, records(5, 100, 'C'))); // in line behind the first
    const small = store.appendRecords('t', 0, [record(10, 's')]);

    await Promise.all([first, second]);
    // The second's deadline had passed when the first was refused: refused in the same turn.
    expect(refusedAt[1]! - refusedAt[0]!).toBeLessThan(100);
    await Promise.all(fillers);
    expect(await small).toMatchObject({ baseOffset: 8, lastOffset: 8 });
    expect(recordsOf(store, 't', 0).map((r) => r.value![0]).join('')).toBe(`${FILLER_TAGS}s`);
  });
});
