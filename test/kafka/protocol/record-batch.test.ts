import { createRequire } from 'node:module';
import { describe, it, expect } from 'vitest';
import {
  ATTRIBUTES_OFFSET, CRC_OFFSET, RECORD_BATCH_OVERHEAD, decodeRecordBatch, encodeRecordBatch, readBatchHeader,
  setBaseOffset, setPartitionLeaderEpoch, splitRecordSet, verifyBatchCrc, type RecordInput,
} from '../../../src/kafka/protocol/record-batch.js';
import { CompressionType } from '../../../src/kafka/protocol/compression.js';
import { crc32c } from '../../../src/kafka/protocol/crc32c.js';
import { expectWeir } from '../../helpers/expect-weir.js';
import { loadHex } from './fixtures.js';
import { kafkajsDecodeBatch, kafkajsRecord, kafkajsRecordBatch } from './kafkajs.js';

const require = createRequire(import.meta.url);
const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: number): unknown };

const T = 1700000000000;

/** The inputs of test/fixtures/record-batch/make-kafkajs-fixtures.mjs (kafkajs-*.hex). */
const KAFKAJS_CASE: RecordInput[] = [
  { key: Buffer.from('sensor-1'), value: Buffer.from('{"t":21.5}'), timestamp: T },
  { key: null, value: Buffer.from('no key'), timestamp: T + 7, headers: [{ key: 'source', value: Buffer.from('mqtt') }] },
  { key: Buffer.from('tombstone'), value: null, timestamp: T + 3 },
  {
    key: Buffer.from('k'), value: Buffer.from('ünïcødé ✓'), timestamp: T + 300,
    headers: [{ key: 'content-type', value: Buffer.from('text/plain') }, { key: 'x-seq', value: Buffer.from('4') }],
  },
];

/**
 * kafkajs writes producerEpoch 0, firstSequence 0 and partitionLeaderEpoch 0 for a
 * non-idempotent producer; Java (and Weir's defaults) write -1 (RecordBatch.NO_PRODUCER_EPOCH,
 * NO_SEQUENCE, NO_PARTITION_LEADER_EPOCH). Brokers ignore both when producerId is -1 and
 * overwrite the epoch, so both are valid: pass kafkajs's values to compare byte for byte.
 * Everything else (baseTimestamp = smallest timestamp, deltas, record layout) matches as is.
 */
const KAFKAJS_FIELDS = { baseOffset: 0, producerId: -1, producerEpoch: 0, baseSequence: 0, partitionLeaderEpoch: 0 };

/** Encode `records` with kafkajs's own RecordBatch and Record encoders. */
async function kafkajsEncode(records: RecordInput[], compression = 0): Promise<Buffer> {
  const ts = records.map((r) => r.timestamp ?? T);
  const first = Math.min(...ts);
  const batch = await kafkajsRecordBatch({
    compression,
    firstTimestamp: first,
    maxTimestamp: Math.max(...ts),
    partitionLeaderEpoch: 0,
    lastOffsetDelta: records.length - 1,
    producerId: Long.fromValue(-1),
    producerEpoch: 0,
    firstSequence: 0,
    records: records.map((r, i) =>
      kafkajsRecord({
        offsetDelta: i,
        timestampDelta: ts[i]! - first,
        key: r.key,
        value: r.value,
        headers: Object.fromEntries((r.headers ?? []).map((h) => [h.key, h.value as Buffer])),
      }),
    ),
  });
  return batch.buffer;
}

function plain(records: ReturnType<typeof decodeRecordBatch>['records']) {
  return records.map((r) => ({
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key?.toString('hex') ?? null,
    value: r.value?.toString('hex') ?? null,
    headers: r.headers.map((h) => [h.key, h.value?.toString('hex') ?? null]),
  }));
}

function plainInput(records: RecordInput[], baseOffset = 0) {
  return records.map((r, i) => ({
    offset: baseOffset + i,
    timestamp: r.timestamp,
    key: r.key?.toString('hex') ?? null,
    value: r.value?.toString('hex') ?? null,
    headers: (r.headers ?? []).map((h) => [h.key, h.value?.toString('hex') ?? null]),
  }));
}

function manyRecords(n: number): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 5 === 4 ? null : Buffer.from(`device-${i % 9}`),
    value: i % 11 === 10 ? null : Buffer.from(`{"seq":${i},"temp":${(i * 7) % 300},"unit":"C","site":"plant-a"}`),
    timestamp: T + i * 3 - (i % 4 === 1 ? 50 : 0),
    headers: i % 3 === 0 ? [{ key: 'ct', value: Buffer.from('json') }, { key: 'nul', value: null }] : undefined,
  }));
}

describe('golden bytes: kafkajs', () => {
  it('the literal kafkajs fixtures still match what the installed kafkajs writes', async () => {
    expect((await kafkajsEncode(KAFKAJS_CASE)).equals(loadHex('kafkajs-none'))).toBe(true);
    // gzip bytes depend on the zlib build, so only the uncompressed fixture is pinned this way.
  });

  it('our uncompressed encoding is byte-identical to kafkajs (live and literal fixture)', async () => {
    const ours = encodeRecordBatch({ ...KAFKAJS_FIELDS, records: KAFKAJS_CASE });
    expect(ours.toString('hex')).toBe(loadHex('kafkajs-none').toString('hex'));
    expect(ours.equals(await kafkajsEncode(KAFKAJS_CASE))).toBe(true);
    const many = manyRecords(100).map((r) => ({ ...r, headers: r.headers?.filter((h) => h.value !== null) }));
    expect(encodeRecordBatch({ ...KAFKAJS_FIELDS, records: many }).equals(await kafkajsEncode(many))).toBe(true);
  });

  it('header keys: multi-byte UTF-8, empty, and longer than the key-bytes cache takes, repeated across records', async () => {
    // Distinct within a record: kafkajs takes headers as an object, so it would merge duplicates.
    const keys = ['ключ', 'mqtt.topic', '', `x-${'é'.repeat(80)}`, '✓'];
    const records: RecordInput[] = Array.from({ length: 12 }, (_, i) => ({
      key: Buffer.from(`k${i}`),
      value: Buffer.from(`v${i}`),
      timestamp: T + i,
      headers: keys.map((key, j) => ({ key, value: Buffer.from(`${i}.${j}`) })),
    }));
    const ours = encodeRecordBatch({ ...KAFKAJS_FIELDS, records });
    expect(ours.equals(await kafkajsEncode(records))).toBe(true);
    expect(decodeRecordBatch(ours).records.map((r) => r.headers.map((h) => h.key))).toEqual(records.map(() => keys));
  });

  it('our gzip batch matches kafkajs byte for byte (same node:zlib, same default level)', async () => {
    const ours = encodeRecordBatch({ ...KAFKAJS_FIELDS, records: KAFKAJS_CASE, compression: CompressionType.Gzip });
    expect(ours.equals(await kafkajsEncode(KAFKAJS_CASE, 1))).toBe(true);
  });

  it.each(['kafkajs-none', 'kafkajs-gzip'])('decodes %s exactly', (name) => {
    const buf = loadHex(name);
    expect(verifyBatchCrc(buf)).toBe(true);
    const { header, records } = decodeRecordBatch(buf);
    expect(header).toMatchObject({
      baseOffset: 0, partitionLeaderEpoch: 0, magic: 2, compression: name.endsWith('gzip') ? 1 : 0, timestampType: 0,
      isTransactional: false, isControl: false, lastOffsetDelta: 3, baseTimestamp: T, maxTimestamp: T + 300,
      producerId: -1, producerEpoch: 0, baseSequence: 0, recordCount: 4, sizeInBytes: buf.length,
    });
    expect(plain(records)).toEqual(plainInput(KAFKAJS_CASE));
  });

  it('kafkajs decodes what we encode (uncompressed and gzip)', async () => {
    const records = manyRecords(50);
    for (const compression of [CompressionType.None, CompressionType.Gzip]) {
      const ours = encodeRecordBatch({ baseOffset: 1234, records, compression });
      const decoded = await kafkajsDecodeBatch(ours);
      expect(decoded.firstOffset).toBe('1234');
      expect(decoded.records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString() ?? null])).toEqual(
        records.map((r, i) => [String(1234 + i), String(r.timestamp), r.key?.toString() ?? null, r.value?.toString() ?? null]),
      );
    }
  });
});

describe('encodeRecordBatch', () => {
  it.each([CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4])(
    'round-trips 500 records with compression %i',
    (compression) => {
      const records = manyRecords(500);
      const buf = encodeRecordBatch({ baseOffset: 42, records, compression, producerId: 7, producerEpoch: 3, baseSequence: 99 });
      expect(verifyBatchCrc(buf)).toBe(true);
      const { header, records: out } = decodeRecordBatch(buf);
      expect(header).toMatchObject({
        baseOffset: 42, compression, producerId: 7, producerEpoch: 3, baseSequence: 99, partitionLeaderEpoch: -1,
        recordCount: 500, lastOffsetDelta: 499, sizeInBytes: buf.length,
        baseTimestamp: Math.min(...records.map((r) => r.timestamp!)), maxTimestamp: Math.max(...records.map((r) => r.timestamp!)),
      });
      expect(plain(out)).toEqual(plainInput(records, 42));
    },
  );

  it('defaults: Java-style NO_PRODUCER_ID fields, now for missing timestamps', () => {
    const buf = encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: Buffer.from('x') }], now: T + 5 });
    const { header, records } = decodeRecordBatch(buf);
    expect(header).toMatchObject({ producerId: -1, producerEpoch: -1, baseSequence: -1, baseTimestamp: T + 5, maxTimestamp: T + 5 });
    expect(records[0]!.timestamp).toBe(T + 5);
  });

  it('LogAppendTime: maxTimestamp = now, and every decoded record carries it', () => {
    const buf = encodeRecordBatch({ baseOffset: 0, records: manyRecords(3), timestampType: 1, now: T + 999 });
    const { header, records } = decodeRecordBatch(buf);
    expect(header.timestampType).toBe(1);
    expect(header.maxTimestamp).toBe(T + 999);
    expect(records.map((r) => r.timestamp)).toEqual([T + 999, T + 999, T + 999]);
  });

  it('refuses zstd, empty batches and out-of-range fields', () => {
    expectWeir('UNSUPPORTED_COMPRESSION_TYPE', () =>
      encodeRecordBatch({ baseOffset: 0, records: manyRecords(1), compression: CompressionType.Zstd }));
    expectWeir('INVALID_ARGUMENT', () => encodeRecordBatch({ baseOffset: 0, records: [] }));
    expectWeir('INVALID_ARGUMENT', () => encodeRecordBatch({ baseOffset: -1, records: manyRecords(1) }));
    expectWeir('INVALID_ARGUMENT', () => encodeRecordBatch({ baseOffset: 0, records: manyRecords(1), producerEpoch: 40000 }));
    expectWeir('INVALID_ARGUMENT', () => encodeRecordBatch({ baseOffset: 0, records: [{ key: null, value: null, timestamp: 1.5 }] }));
  });

  it('handles large offsets and timestamps exactly (int64 as safe numbers)', () => {
    const baseOffset = 2 ** 40 + 3;
    const buf = encodeRecordBatch({ baseOffset, records: [{ key: null, value: null, timestamp: 2 ** 50 }], producerId: 2 ** 45 });
    const { header, records } = decodeRecordBatch(buf);
    expect(header.baseOffset).toBe(baseOffset);
    expect(header.producerId).toBe(2 ** 45);
    expect(records[0]).toMatchObject({ offset: baseOffset, timestamp: 2 ** 50, key: null, value: null });
  });
});

describe('header access and in-place rewrites', () => {
  it('exposes the v2 layout constants', () => {
    expect(RECORD_BATCH_OVERHEAD).toBe(61);
    expect(CRC_OFFSET).toBe(17);
    expect(ATTRIBUTES_OFFSET).toBe(21);
  });

  it('setBaseOffset and setPartitionLeaderEpoch keep the CRC valid', () => {
    const buf = encodeRecordBatch({ baseOffset: 0, records: manyRecords(10), compression: CompressionType.Lz4 });
    const crc = buf.readUInt32BE(CRC_OFFSET);
    setBaseOffset(buf, 987654321);
    setPartitionLeaderEpoch(buf, 17);
    expect(buf.readUInt32BE(CRC_OFFSET)).toBe(crc);
    expect(verifyBatchCrc(buf)).toBe(true);
    const { header, records } = decodeRecordBatch(buf);
    expect(header.baseOffset).toBe(987654321);
    expect(header.partitionLeaderEpoch).toBe(17);
    expect(records[9]!.offset).toBe(987654330);
    expectWeir('INVALID_ARGUMENT', () => setBaseOffset(buf.subarray(0, 20), 1));
  });

  it('readBatchHeader checks length, magic and batchLength; decode checks the CRC', () => {
    const buf = encodeRecordBatch({ baseOffset: 5, records: manyRecords(2) });
    expect(readBatchHeader(buf).recordCount).toBe(2);
    expectWeir('CORRUPT_MESSAGE', () => readBatchHeader(buf.subarray(0, 60)));
    expectWeir('CORRUPT_MESSAGE', () => readBatchHeader(buf.subarray(0, buf.length - 1)));
    const badMagic = Buffer.from(buf);
    badMagic[16] = 1;
    expectWeir('CORRUPT_MESSAGE', () => readBatchHeader(badMagic));
    const badLength = Buffer.from(buf);
    badLength.writeInt32BE(10, 8);
    expectWeir('CORRUPT_MESSAGE', () => readBatchHeader(badLength));
    const flipped = Buffer.from(buf);
    flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 1;
    expect(verifyBatchCrc(flipped)).toBe(false);
    expectWeir('CORRUPT_MESSAGE', () => decodeRecordBatch(flipped));
  });

  it('decode rejects a record count that disagrees with the records (CRC recomputed)', () => {
    const buf = Buffer.from(encodeRecordBatch({ baseOffset: 0, records: manyRecords(3) }));
    for (const count of [2, 4, 1_000_000]) {
      buf.writeInt32BE(count, 57);
      buf.writeUInt32BE(crc32c(buf, ATTRIBUTES_OFFSET), CRC_OFFSET);
      expectWeir('CORRUPT_MESSAGE', () => decodeRecordBatch(buf));
    }
  });

  it('decode honours maxUncompressedBytes', () => {
    const buf = encodeRecordBatch({ baseOffset: 0, records: manyRecords(200), compression: CompressionType.Snappy });
    expectWeir('MESSAGE_TOO_LARGE', () => decodeRecordBatch(buf, { maxUncompressedBytes: 1000 }));
  });
});

describe('splitRecordSet', () => {
  it('returns views of each concatenated batch', () => {
    const a = encodeRecordBatch({ baseOffset: 0, records: manyRecords(3) });
    const b = encodeRecordBatch({ baseOffset: 3, records: manyRecords(5), compression: CompressionType.Gzip });
    const c = loadHex('kafka-python-zstd-small');
    const parts = splitRecordSet(Buffer.concat([a, b, c]));
    expect(parts.map((p) => p.length)).toEqual([a.length, b.length, c.length]);
    expect(parts.map((p) => decodeRecordBatch(p).header.recordCount)).toEqual([3, 5, 20]);
    expect(splitRecordSet(Buffer.alloc(0))).toEqual([]);
  });

  it('throws CORRUPT_MESSAGE on a truncated tail', () => {
    const a = encodeRecordBatch({ baseOffset: 0, records: manyRecords(3) });
    const set = Buffer.concat([a, a]);
    for (const cut of [1, 12, 61, a.length - 1]) {
      expectWeir('CORRUPT_MESSAGE', () => splitRecordSet(set.subarray(0, a.length + cut)));
    }
  });
});
