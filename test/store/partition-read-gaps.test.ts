/**
 * Reads across the gaps compaction leaves: batches removed whole, and batches that keep their
 * span but lost their first records. Rows are written straight into LMDB, as the cleaner leaves
 * them, and read back through PartitionState.read.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { filterBatch } from '../../src/kafka/protocol/batch-filter.js';
import { decodeRecordBatch, encodeRecordBatch } from '../../src/kafka/protocol/record-batch.js';
import { logKey } from '../../src/store/keys.js';
import { openLmdbEnv, type LmdbEnv } from '../../src/store/lmdb-env.js';
import { PartitionState } from '../../src/store/partition.js';
import { tempDir } from '../helpers/store.js';

describe('PartitionState.read across compaction gaps', () => {
  let env: LmdbEnv;
  let cleanup: () => void;

  beforeEach(() => {
    const dir = tempDir();
    cleanup = dir.cleanup;
    env = openLmdbEnv(dir.dir, true);
  });

  afterEach(async () => {
    await env.root.close();
    cleanup();
  });

  /** Batches of three records at [0..2], [3..5], …, of which `present` are stored (some filtered). */
  let nextPid = 1;

  async function partitionWith(present: Map<number, Buffer | 'whole'>, end: number): Promise<PartitionState> {
    const pid = nextPid++;
    for (const [base, stored] of present) {
      const batch = stored === 'whole' ? threeRecords(base) : stored;
      await env.batches.put(logKey(pid, base), batch);
    }
    const segment = { baseOffset: 0, nextOffset: end, bytes: 0, createdAt: 0, maxTimestamp: 0 };
    return new PartitionState(env, pid, 't', 0, { nextOffset: end, logStartOffset: 0, segments: [segment] });
  }

  function threeRecords(base: number): Buffer {
    const records = [0, 1, 2].map((i) => ({ key: Buffer.from(`k${base + i}`), value: Buffer.from(`v${base + i}`) }));
    return encodeRecordBatch({ baseOffset: base, records, now: 1000 });
  }

  function offsetsRead(p: PartitionState, offset: number, maxBytes = 1 << 20): number[] {
    return p.read(offset, maxBytes).batches.flatMap((b) => decodeRecordBatch(b).records.map((r) => r.offset));
  }

  it('a fetch at an offset in a batch removed whole continues at the next batch present', async () => {
    const p = await partitionWith(new Map([[0, 'whole'], [9, 'whole']]), 12);
    expect(offsetsRead(p, 2)).toEqual([0, 1, 2, 9, 10, 11]);
    expect(offsetsRead(p, 3)).toEqual([9, 10, 11]);
    expect(offsetsRead(p, 5)).toEqual([9, 10, 11]);
    expect(offsetsRead(p, 8)).toEqual([9, 10, 11]);
    expect(offsetsRead(p, 10)).toEqual([9, 10, 11]);
  });

  it('does not count a skipped batch against maxBytes: the first batch returned is the next one present', async () => {
    const p = await partitionWith(new Map([[0, 'whole'], [3, 'whole'], [6, 'whole']]), 9);
    // One byte: only the first batch, whole (KIP-74), and it is the one holding offset 4.
    expect(offsetsRead(p, 4, 1)).toEqual([3, 4, 5]);
    const gap = await partitionWith(new Map([[0, 'whole'], [6, 'whole']]), 9);
    expect(offsetsRead(gap, 4, 1)).toEqual([6, 7, 8]);
  });

  it('starts at a batch that kept its span when its first records were removed (Kafka: last offset ≥ fetch offset)', async () => {
    const lastOnly = filterBatch(threeRecords(3), (r) => r.offset === 5).batch!;
    const p = await partitionWith(new Map<number, Buffer | 'whole'>([[0, 'whole'], [3, lastOnly], [6, 'whole']]), 9);
    expect(offsetsRead(p, 3)).toEqual([5, 6, 7, 8]);
    expect(offsetsRead(p, 4)).toEqual([5, 6, 7, 8]);
  });

  it('returns nothing, not an error, for a fetch in a gap that reaches the high watermark', async () => {
    const p = await partitionWith(new Map([[0, 'whole']]), 6);
    const result = p.read(4, 1 << 20);
    expect(result.batches).toEqual([]);
    expect(result.highWatermark).toBe(6);
  });
});
