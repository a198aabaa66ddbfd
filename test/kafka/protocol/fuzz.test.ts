import { describe, it, expect } from 'vitest';
import {
  ATTRIBUTES_OFFSET, BATCH_LENGTH_OFFSET, CRC_OFFSET, MAGIC_OFFSET, RECORDS_OFFSET, decodeRecordBatch, encodeRecordBatch,
  splitRecordSet,
} from '../../../src/kafka/protocol/record-batch.js';
import { CompressionType } from '../../../src/kafka/protocol/compression.js';
import { crc32c } from '../../../src/kafka/protocol/crc32c.js';
import { isWeirError } from '../../../src/errors.js';
import { loadHex } from './fixtures.js';

/**
 * Hostile input must end in a WeirError (or a successful decode), never a RangeError, a
 * TypeError, a hang or a huge allocation. Most interesting mutations would die at the CRC check,
 * so half of them recompute the CRC afterwards to reach the decompressors and record parser.
 */

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fixCrc(buf: Buffer): void {
  if (buf.length >= RECORDS_OFFSET) buf.writeUInt32BE(crc32c(buf, ATTRIBUTES_OFFSET), CRC_OFFSET);
}

/** Returns 'ok' or the WeirError code; rethrows anything else with the input attached. */
function attempt(buf: Buffer): string {
  try {
    decodeRecordBatch(buf, { maxUncompressedBytes: 4 * 1024 * 1024 });
    return 'ok';
  } catch (err) {
    if (isWeirError(err)) return err.code;
    throw new Error(`non-WeirError for input ${buf.toString('hex').slice(0, 400)}`, { cause: err });
  }
}

const records = Array.from({ length: 40 }, (_, i) => ({
  key: i % 4 === 0 ? null : Buffer.from(`k${i}`),
  value: Buffer.from(`{"seq":${i},"v":"${'x'.repeat(i % 17)}"}`),
  headers: i % 5 === 0 ? [{ key: 'h', value: i % 10 === 0 ? null : Buffer.from('v') }] : undefined,
  timestamp: 1700000000000 + i,
}));

const SEEDS: Array<[string, Buffer]> = [
  ['none', encodeRecordBatch({ baseOffset: 0, records })],
  ['gzip', encodeRecordBatch({ baseOffset: 0, records, compression: CompressionType.Gzip })],
  ['snappy', encodeRecordBatch({ baseOffset: 0, records, compression: CompressionType.Snappy })],
  ['snappy-xerial', loadHex('kafka-python-snappy-xerial-small')],
  ['lz4', encodeRecordBatch({ baseOffset: 0, records, compression: CompressionType.Lz4 })],
  ['lz4-checksums', loadHex('lz4-cli-b4-bx-small')],
  ['zstd', loadHex('kafka-python-zstd-small')],
  ['zstd-stream', loadHex('zstd-cli-stream-small')],
];

describe('fuzz: decodeRecordBatch', () => {
  it('2000 random buffers, half shaped like a v2 header with a valid CRC', () => {
    const rand = rng(1);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(rand() * 400);
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = Math.floor(rand() * 256);
      if (i % 2 === 1 && len >= RECORDS_OFFSET) {
        buf.writeInt32BE(len - 12, BATCH_LENGTH_OFFSET);
        buf[MAGIC_OFFSET] = 2;
        buf.writeInt16BE(Math.floor(rand() * 5), ATTRIBUTES_OFFSET);
        buf.writeInt32BE(Math.floor(rand() * 8), 57);
        fixCrc(buf);
      }
      const code = attempt(buf);
      outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
    }
    expect(outcomes.get('CORRUPT_MESSAGE')).toBeGreaterThan(1500);
  });

  it.each(SEEDS)('2000 single-byte mutations and truncations of a %s batch', (_name, seed) => {
    expect(attempt(seed)).toBe('ok');
    const rand = rng(seed.length);
    let peakArrayBuffers = 0;
    for (let i = 0; i < 2000; i++) {
      let buf: Buffer;
      if (i % 10 === 9) {
        buf = Buffer.from(seed.subarray(0, Math.floor(rand() * seed.length)));
        if (buf.length >= RECORDS_OFFSET && rand() < 0.5) {
          buf.writeInt32BE(buf.length - 12, BATCH_LENGTH_OFFSET);
          fixCrc(buf);
        }
      } else {
        buf = Buffer.from(seed);
        const at = Math.floor(rand() * buf.length);
        buf[at] = rand() < 0.5 ? buf[at]! ^ (1 << Math.floor(rand() * 8)) : Math.floor(rand() * 256);
        if (i % 2 === 0) fixCrc(buf);
      }
      attempt(buf);
      if (i % 100 === 0) peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
    }
    expect(peakArrayBuffers).toBeLessThan(512 * 1024 * 1024);
  });

  it('splitRecordSet on random bytes throws WeirError or returns views', () => {
    const rand = rng(7);
    for (let i = 0; i < 2000; i++) {
      const buf = Buffer.alloc(Math.floor(rand() * 300));
      for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(rand() * 256);
      try {
        splitRecordSet(buf);
      } catch (err) {
        if (!isWeirError(err)) throw err;
      }
    }
  });
});
