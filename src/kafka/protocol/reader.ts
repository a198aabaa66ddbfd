/**
 * A bounded reader over one request body. Every length read from the wire (strings, bytes,
 * arrays, tagged fields) is checked against the bytes that remain before anything is
 * allocated, so a hostile length costs nothing; reads past the end throw CORRUPT_MESSAGE.
 *
 * Primitive types follow Kafka's protocol guide ("Protocol Primitive Types"):
 * - STRING: int16 length + UTF-8; NULLABLE_STRING: length -1 = null.
 * - BYTES / NULLABLE_BYTES / RECORDS: int32 length (-1 = null).
 * - ARRAY: int32 count (-1 = null).
 * - COMPACT_*: unsigned varint of length + 1 (0 = null) — KIP-482.
 * - TAGGED_FIELDS: unsigned varint count, then (tag, size, bytes) each.
 *
 * The `flexible` parameter of `string`, `bytes`, `array` picks the compact or classic form, so
 * one decoder per API reads every version of it.
 */
import { WeirError } from '../../errors.js';

/** No array in a request Weir serves has more elements than this (Kafka has no such cap). */
export const MAX_ARRAY_LENGTH = 1_000_000;

function corrupt(message: string): WeirError {
  return new WeirError('CORRUPT_MESSAGE', `kafka request: ${message}`);
}

export class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.end - this.pos) throw corrupt(`${what} needs ${n} bytes, ${this.end - this.pos} left at byte ${this.pos}`);
  }

  int8(): number {
    this.need(1, 'int8');
    return this.buf.readInt8(this.pos++);
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int16(): number {
    this.need(2, 'int16');
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4, 'int32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    this.need(4, 'uint32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** int64 as a JS number; values outside the safe-integer range are CORRUPT_MESSAGE. */
  int64(): number {
    this.need(8, 'int64');
    const v = this.buf.readInt32BE(this.pos) * 2 ** 32 + this.buf.readUInt32BE(this.pos + 4);
    if (!Number.isSafeInteger(v)) throw corrupt(`int64 at byte ${this.pos} is outside the safe integer range`);
    this.pos += 8;
    return v;
  }

  /** Unsigned varint (KIP-482), at most 5 bytes, at most 2^32 - 1. */
  uvarint(): number {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      this.need(1, 'unsigned varint');
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) {
        if (value > 0xffffffff) throw corrupt('unsigned varint exceeds 32 bits');
        return value;
      }
    }
    throw corrupt('unsigned varint longer than 5 bytes');
  }

  uuid(): Buffer {
    this.need(16, 'uuid');
    const v = this.buf.subarray(this.pos, this.pos + 16);
    this.pos += 16;
    return v;
  }

  /** Length prefix of a string/bytes: -1 for null. Checked against what remains. */
  private length(flexible: boolean, wide: boolean, what: string): number {
    let n: number;
    if (flexible) n = this.uvarint() - 1;
    else n = wide ? this.int32() : this.int16();
    if (n < -1) throw corrupt(`negative ${what} length ${n}`);
    if (n > this.end - this.pos) throw corrupt(`${what} length ${n} exceeds the ${this.end - this.pos} bytes left`);
    return n;
  }

  nullableString(flexible = false): string | null {
    const n = this.length(flexible, false, 'string');
    if (n === -1) return null;
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  string(flexible = false): string {
    const s = this.nullableString(flexible);
    if (s === null) throw corrupt(`null where a string is required (byte ${this.pos})`);
    return s;
  }

  /** Bytes are returned as a view into the request buffer (copy before keeping them). */
  nullableBytes(flexible = false): Buffer | null {
    const n = this.length(flexible, true, 'bytes');
    if (n === -1) return null;
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  bytes(flexible = false): Buffer {
    const b = this.nullableBytes(flexible);
    if (b === null) throw corrupt(`null where bytes are required (byte ${this.pos})`);
    return b;
  }

  /** Array count, bounded: every element takes at least one byte, and MAX_ARRAY_LENGTH. */
  private count(flexible: boolean): number {
    const n = flexible ? this.uvarint() - 1 : this.int32();
    if (n < -1) throw corrupt(`negative array length ${n}`);
    if (n > this.end - this.pos || n > MAX_ARRAY_LENGTH) throw corrupt(`array length ${n} exceeds the ${this.end - this.pos} bytes left`);
    return n;
  }

  nullableArray<T>(flexible: boolean, element: (r: Reader) => T): T[] | null {
    const n = this.count(flexible);
    if (n === -1) return null;
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(element(this));
    return out;
  }

  array<T>(flexible: boolean, element: (r: Reader) => T): T[] {
    const a = this.nullableArray(flexible, element);
    if (a === null) throw corrupt(`null where an array is required (byte ${this.pos})`);
    return a;
  }

  /**
   * Tagged fields (KIP-482). Unknown tags are skipped, as the spec requires; `onTag` may read
   * known ones from the sub-reader it is given. Tags must be strictly increasing.
   */
  taggedFields(onTag?: (tag: number, r: Reader) => void): void {
    const n = this.uvarint();
    if (n > this.end - this.pos) throw corrupt(`tagged field count ${n} exceeds the bytes left`);
    let last = -1;
    for (let i = 0; i < n; i++) {
      const tag = this.uvarint();
      if (tag <= last) throw corrupt(`tagged field ${tag} out of order`);
      last = tag;
      const size = this.uvarint();
      this.need(size, `tagged field ${tag}`);
      if (onTag !== undefined) onTag(tag, new Reader(this.buf, this.pos, this.pos + size));
      this.pos += size;
    }
  }

  /** Flexible versions end every structure with tagged fields; classic ones have none. */
  maybeTaggedFields(flexible: boolean): void {
    if (flexible) this.taggedFields();
  }
}
