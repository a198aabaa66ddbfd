import { describe, expect, it } from 'vitest';
import { filterBatch } from '../../../src/kafka/protocol/batch-filter.js';
import { CompressionType } from '../../../src/kafka/protocol/compression.js';
import { decodeRecordBatch, encodeRecordBatch, readBatchHeader, type RecordInput } from '../../../src/kafka/protocol/record-batch.js';

function records(n: number): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i === 3 ? null : Buffer.from(`k${i % 4}`),
    value: i === 5 ? null : Buffer.from(`value-${i}`),
    headers: [{ key: 'mqtt.topic', value: Buffer.from(`s/${i}`) }],
    timestamp: 1_700_000_000_000 + i * 10,
  }));
}

const batchOf = (compression: CompressionType): Buffer =>
  encodeRecordBatch({ baseOffset: 100, records: records(8), compression, producerId: 42, producerEpoch: 3, baseSequence: 17 });

describe('filterBatch', () => {
  it.each([CompressionType.None, CompressionType.Gzip, CompressionType.Lz4, CompressionType.Snappy])(
    'keeps the chosen records with their offsets, timestamps, keys, values and headers (compression %i)', (compression) => {
      const original = batchOf(compression);
      const before = decodeRecordBatch(original);
      const seen: Array<[number, string | null, boolean]> = [];
      const result = filterBatch(original, (r) => {
        seen.push([r.offset, r.key?.toString() ?? null, r.tombstone]);
        return r.offset % 2 === 1;
      });
      expect(seen).toEqual([
        [100, 'k0', false], [101, 'k1', false], [102, 'k2', false], [103, null, false],
        [104, 'k0', false], [105, 'k1', true], [106, 'k2', false], [107, 'k3', false],
      ]);
      expect(result.kept).toBe(4);
      expect(result.removed).toBe(4);
      const after = decodeRecordBatch(result.batch!); // checks the CRC
      expect(after.records).toEqual(before.records.filter((r) => r.offset % 2 === 1));
      const h = after.header;
      expect([h.baseOffset, h.lastOffsetDelta, h.recordCount, h.compression]).toEqual([100, 7, 4, compression]);
      expect([h.producerId, h.producerEpoch, h.baseSequence]).toEqual([42, 3, 17]);
      expect([h.baseTimestamp, h.maxTimestamp]).toEqual([before.header.baseTimestamp, before.header.maxTimestamp]);
    });

  it('returns the same buffer when every record is kept, and null when none is', () => {
    const original = batchOf(CompressionType.None);
    expect(filterBatch(original, () => true).batch).toBe(original);
    expect(filterBatch(original, () => false)).toMatchObject({ batch: null, kept: 0, removed: 8 });
  });

  it('keeps an empty batch, uncompressed, with the original span and producer when asked', () => {
    const result = filterBatch(batchOf(CompressionType.Gzip), () => false, true);
    const h = readBatchHeader(result.batch!);
    expect([h.baseOffset, h.lastOffsetDelta, h.recordCount, h.compression, h.producerId, h.baseSequence]).toEqual([100, 7, 0, 0, 42, 17]);
    expect(decodeRecordBatch(result.batch!).records).toEqual([]);
  });

  it('reports LogAppendTime records at the batch time, as readers see them', () => {
    const batch = encodeRecordBatch({ baseOffset: 0, records: records(2), timestampType: 1, now: 1_800_000_000_000 });
    const times: number[] = [];
    filterBatch(batch, (r) => (times.push(r.timestamp), true));
    expect(times).toEqual([1_800_000_000_000, 1_800_000_000_000]);
  });

  it('refuses a batch whose records overrun it', () => {
    const batch = batchOf(CompressionType.None);
    batch.writeInt32BE(9, 57); // one more record than the bytes hold
    expect(() => filterBatch(batch, () => true)).toThrow(expect.objectContaining({ code: 'CORRUPT_MESSAGE' }));
    batch.writeInt32BE(7, 57); // one fewer: bytes left over
    expect(() => filterBatch(batch, () => true)).toThrow(/\d+ bytes left after 7 records/);
  });
});
