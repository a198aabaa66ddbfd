import { describe, it, expect } from 'vitest';
import {
  readUnsignedVarint, readVarint, readVarlong, sizeOfUnsignedVarint, sizeOfVarint, sizeOfVarlong,
  writeUnsignedVarint, writeVarint, writeVarlong,
} from '../../../src/kafka/protocol/varint.js';
import { isWeirError } from '../../../src/errors.js';

function enc(write: (b: Uint8Array, p: number, n: number) => number, n: number): string {
  const buf = Buffer.alloc(16);
  return buf.subarray(0, write(buf, 0, n)).toString('hex');
}

function expectCorrupt(fn: () => unknown): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(isWeirError(thrown, 'CORRUPT_MESSAGE')).toBe(true);
}

describe('varint (zigzag, 32-bit)', () => {
  // Expected bytes from Kafka's ByteUtilsTest (testVarintSerde / zigzag tables).
  const cases: Array<[number, string]> = [
    [0, '00'], [-1, '01'], [1, '02'], [-2, '03'], [63, '7e'], [-64, '7f'], [64, '8001'],
    [300, 'd804'], [-8193, '818001'], [2147483647, 'feffffff0f'], [-2147483648, 'ffffffff0f'],
  ];
  it.each(cases)('%i encodes as %s and back', (n, hex) => {
    expect(enc(writeVarint, n)).toBe(hex);
    expect(sizeOfVarint(n)).toBe(hex.length / 2);
    const cur = { pos: 0 };
    expect(readVarint(Buffer.from(hex, 'hex'), cur)).toBe(n);
    expect(cur.pos).toBe(hex.length / 2);
  });

  it('rejects truncated and over-long encodings', () => {
    expectCorrupt(() => readVarint(Buffer.from('80', 'hex'), { pos: 0 }));
    expectCorrupt(() => readVarint(Buffer.from('ffffffffff01', 'hex'), { pos: 0 }));
    // `end` is honoured even when the buffer continues.
    expectCorrupt(() => readVarint(Buffer.from('8001', 'hex'), { pos: 0 }, 1));
  });
});

describe('unsigned varint', () => {
  const cases: Array<[number, string]> = [[0, '00'], [1, '01'], [127, '7f'], [128, '8001'], [16384, '808001'], [0xffffffff, 'ffffffff0f']];
  it.each(cases)('%i encodes as %s and back', (n, hex) => {
    expect(enc(writeUnsignedVarint, n)).toBe(hex);
    expect(sizeOfUnsignedVarint(n)).toBe(hex.length / 2);
    expect(readUnsignedVarint(Buffer.from(hex, 'hex'), { pos: 0 })).toBe(n);
  });
});

describe('varlong (zigzag, 64-bit as safe JS numbers)', () => {
  // Cross-checked with kafkajs's Encoder.writeVarLong and a Python bignum zigzag encoder.
  const cases: Array<[number, string]> = [
    [0, '00'], [-1, '01'], [1, '02'], [2 ** 30, '8080808008'], [-(2 ** 30) - 1, '8180808008'],
    [1700000000000, '80a0abfef962'], [-1700000000000, 'ff9fabfef962'],
    [Number.MAX_SAFE_INTEGER, 'feffffffffffff1f'], [-(2 ** 52), 'ffffffffffffff0f'],
    [Number.MIN_SAFE_INTEGER, 'fdffffffffffff1f'], [-(2 ** 52) - 1, '8180808080808010'],
    [2 ** 31, '8080808010'], [-(2 ** 31), 'ffffffff0f'],
  ];
  it.each(cases)('%i encodes as %s and back', (n, hex) => {
    expect(enc(writeVarlong, n)).toBe(hex);
    expect(sizeOfVarlong(n)).toBe(hex.length / 2);
    const cur = { pos: 0 };
    expect(readVarlong(Buffer.from(hex, 'hex'), cur)).toBe(n);
    expect(cur.pos).toBe(hex.length / 2);
  });

  it('round-trips random safe values', () => {
    const buf = Buffer.alloc(10);
    for (let i = 0; i < 5000; i++) {
      // `+ 0` turns -0 into 0: the wire has no negative zero.
      const n = Math.round((Math.random() - 0.5) * 2 ** (1 + Math.floor(Math.random() * 53))) + 0;
      const end = writeVarlong(buf, 0, n);
      expect(end).toBe(sizeOfVarlong(n));
      expect(readVarlong(buf, { pos: 0 })).toBe(n);
    }
  });

  it('rejects values past the safe range, over-long and truncated encodings', () => {
    expectCorrupt(() => readVarlong(Buffer.from('ffffffffffffffffff01', 'hex'), { pos: 0 })); // 2^64 - 1
    expectCorrupt(() => readVarlong(Buffer.from('8080808080808080808001', 'hex'), { pos: 0 })); // 11 bytes
    expectCorrupt(() => readVarlong(Buffer.from('808080', 'hex'), { pos: 0 }));
    expectCorrupt(() => readVarlong(Buffer.from('8080808080', 'hex'), { pos: 0 }));
  });
});
