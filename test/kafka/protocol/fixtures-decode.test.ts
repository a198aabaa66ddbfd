import { readdirSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { decodeRecordBatch, verifyBatchCrc } from '../../../src/kafka/protocol/record-batch.js';
import { CompressionType } from '../../../src/kafka/protocol/compression.js';
import { loadExpected, loadHex, type ExpectedRecord } from './fixtures.js';
import type { DecodedRecord } from '../../../src/kafka/protocol/record-batch.js';

/**
 * Golden batches written by implementations independent of Weir (see
 * test/fixtures/record-batch/make-fixtures.py): kafka-python 2.0.2 with python-snappy,
 * python-lz4 and python-zstandard, and the zstd / lz4 command-line tools.
 */

function asExpected(r: DecodedRecord): ExpectedRecord {
  return {
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key === null ? null : r.key.toString('utf8'),
    value: r.value === null ? null : r.value.toString('utf8'),
    headers: r.headers.map((h): [string, string | null] => [h.key, h.value === null ? null : h.value.toString('utf8')]),
  };
}

const FIXTURES: Array<[name: string, compression: CompressionType]> = [
  ['kafka-python-none-small', CompressionType.None],
  ['kafka-python-gzip-small', CompressionType.Gzip],
  ['kafka-python-gzip-big', CompressionType.Gzip],
  ['kafka-python-snappy-xerial-small', CompressionType.Snappy],
  ['kafka-python-snappy-xerial-big', CompressionType.Snappy],
  ['raw-snappy-small', CompressionType.Snappy],
  ['raw-snappy-big', CompressionType.Snappy],
  ['kafka-python-lz4-small', CompressionType.Lz4],
  ['kafka-python-lz4-big', CompressionType.Lz4],
  ['lz4-cli-small', CompressionType.Lz4],
  ['lz4-cli-big', CompressionType.Lz4],
  ['lz4-cli-b4-bx-small', CompressionType.Lz4],
  ['lz4-cli-b4-bx-big', CompressionType.Lz4],
  ['lz4-cli-linked-small', CompressionType.Lz4],
  ['lz4-cli-linked-big', CompressionType.Lz4],
  ['kafka-python-zstd-small', CompressionType.Zstd],
  ['kafka-python-zstd-big', CompressionType.Zstd],
  ['zstd-cli-stream-small', CompressionType.Zstd],
  ['zstd-cli-stream-big', CompressionType.Zstd],
];

describe('decoding golden batches from independent implementations', () => {
  it('covers every .hex fixture in the folder', () => {
    const files = readdirSync(new URL('../../fixtures/record-batch/', import.meta.url)).filter((f) => f.endsWith('.hex'));
    const listed = new Set([...FIXTURES.map(([n]) => n), 'kafkajs-none', 'kafkajs-gzip']);
    expect(files.map((f) => f.slice(0, -4)).filter((f) => !listed.has(f))).toEqual([]);
  });

  it.each(FIXTURES)('%s', (name, compression) => {
    const buf = loadHex(name);
    const expected = loadExpected(name.endsWith('-big') ? 'big-records' : 'small-records');
    expect(verifyBatchCrc(buf)).toBe(true);
    const { header, records } = decodeRecordBatch(buf);
    expect(header.compression).toBe(compression);
    expect(header.sizeInBytes).toBe(buf.length);
    expect(header.recordCount).toBe(expected.length);
    expect(header.lastOffsetDelta).toBe(expected.length - 1);
    // kafka-python, like Java, takes the first record's timestamp as the base.
    expect(header.baseTimestamp).toBe(expected[0]!.timestamp);
    expect(header.maxTimestamp).toBe(Math.max(...expected.map((r) => r.timestamp)));
    expect(header.producerId).toBe(-1);
    expect(header.producerEpoch).toBe(-1);
    expect(header.baseSequence).toBe(-1);
    expect(records.map(asExpected)).toEqual(expected);
  });
});
