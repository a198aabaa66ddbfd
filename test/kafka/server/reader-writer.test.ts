import { describe, expect, it } from 'vitest';
import { isWeirError } from '../../../src/errors.js';
import { Reader } from '../../../src/kafka/protocol/reader.js';
import { Writer } from '../../../src/kafka/protocol/writer.js';

function corrupt(fn: () => unknown): boolean {
  try {
    fn();
  } catch (err) {
    return isWeirError(err, 'CORRUPT_MESSAGE');
  }
  return false;
}

describe('Reader and Writer', () => {
  it('round-trip every primitive in classic and compact forms', () => {
    for (const flexible of [false, true]) {
      const big = Buffer.alloc(5000, 7);
      const w = new Writer(8)
        .int8(-3).bool(true).int16(-300).int32(-70000).uint32(0xfffffff0).int64(-(2 ** 40)).uvarint(300)
        .string('héllo', flexible).nullableString(null, flexible).bytes(Buffer.from('ab'), flexible).nullableBytes(null, flexible)
        .bytes(big, flexible).array([1, 2, 3], flexible, (w, n) => w.int32(n)).nullableArray(null, flexible, () => undefined)
        .taggedFields([{ tag: 5, write: (w) => w.int32(9) }]);
      const r = new Reader(w.toBuffer());
      expect([r.int8(), r.bool(), r.int16(), r.int32(), r.uint32(), r.int64(), r.uvarint()]).toEqual([-3, true, -300, -70000, 0xfffffff0, -(2 ** 40), 300]);
      expect([r.string(flexible), r.nullableString(flexible), r.bytes(flexible).toString(), r.nullableBytes(flexible)]).toEqual(['héllo', null, 'ab', null]);
      expect(r.bytes(flexible).equals(big)).toBe(true);
      expect(r.array(flexible, (r) => r.int32())).toEqual([1, 2, 3]);
      expect(r.nullableArray(flexible, (r) => r.int32())).toBeNull();
      const tags: number[] = [];
      r.taggedFields((tag, sub) => tags.push(tag, sub.int32()));
      expect(tags).toEqual([5, 9]);
      expect(r.remaining).toBe(0);
    }
  });

  it('bounds every length against the bytes left', () => {
    expect(corrupt(() => new Reader(Buffer.from([0x7f, 0xff, 0x61])).string())).toBe(true);
    expect(corrupt(() => new Reader(Buffer.from([0x7f, 0xff, 0xff, 0xff])).bytes())).toBe(true);
    expect(corrupt(() => new Reader(Buffer.from([0x7f, 0xff, 0xff, 0xff])).array(false, (r) => r.int8()))).toBe(true);
    expect(corrupt(() => new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])).array(true, (r) => r.int8()))).toBe(true);
    expect(corrupt(() => new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).uvarint())).toBe(true);
    expect(corrupt(() => new Reader(Buffer.from([0xfe, 0xff])).string())).toBe(true);
    expect(corrupt(() => new Reader(Buffer.from([0x01, 0x05, 0x10])).taggedFields())).toBe(true);
    expect(corrupt(() => new Reader(Buffer.from([0x02, 0x01, 0x00, 0x01, 0x00])).taggedFields())).toBe(true); // tags out of order
    expect(corrupt(() => new Reader(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).int64())).toBe(true);
    expect(corrupt(() => new Reader(Buffer.from([0x00])).int16())).toBe(true);
  });

  it('keeps large byte arrays by reference', () => {
    const big = Buffer.alloc(4096, 1);
    const chunks = new Writer().int32(1).raw(big).int8(2).toChunks();
    expect(chunks.some((c) => c === big)).toBe(true);
  });
});
