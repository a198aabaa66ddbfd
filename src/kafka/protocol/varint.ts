/**
 * Variable-length integers as Kafka writes them (`org.apache.kafka.common.utils.ByteUtils`).
 *
 * - varint / varlong: zigzag-encoded signed 32/64-bit integers, 7 bits per byte, least
 *   significant group first, high bit = "more bytes follow" (protobuf's sint32/sint64). Record
 *   fields in RecordBatch v2 use these (KIP-98).
 * - unsigned varint: the same without zigzag; flexible protocol versions (KIP-482) use it for
 *   compact lengths and tagged fields.
 *
 * Numbers are plain JS numbers. varint and unsigned varint are exact over their 32-bit ranges.
 * varlong covers the safe-integer range (|n| <= 2^53 - 1) exactly, not all of int64: callers
 * must pass safe integers, and decoding a varlong outside that range throws CORRUPT_MESSAGE. No
 * Kafka record field needs more: varlongs only carry timestamp deltas, and millisecond
 * timestamps fit in 42 bits.
 *
 * Decoders never read past `end` and reject over-long encodings the way Java does
 * (more than 5 bytes for a varint, more than 10 for a varlong), so garbage input fails fast.
 */

import { WeirError } from '../../errors.js';

/** A read position that decoders advance in place (avoids allocating a result per value). */
export interface Cursor {
  pos: number;
}

const MAX_VARINT_BYTES = 5;
const MAX_VARLONG_BYTES = 10;
const TWO_POW_27 = 2 ** 27;

function truncated(pos: number): WeirError {
  return new WeirError('CORRUPT_MESSAGE', `varint runs past the end of its buffer at ${pos}`);
}

// ---------------------------------------------------------------------------------- sizes

/** Bytes needed for `n` (an unsigned 32-bit integer) as an unsigned varint. */
export function sizeOfUnsignedVarint(n: number): number {
  n >>>= 0;
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  return 5;
}

/** Bytes needed for `n` (a signed 32-bit integer) as a zigzag varint. */
export function sizeOfVarint(n: number): number {
  return sizeOfUnsignedVarint((n << 1) ^ (n >> 31));
}

/** Bytes needed for `n` (a safe integer) as a zigzag varlong. */
export function sizeOfVarlong(n: number): number {
  if (n >= -0x40000000 && n < 0x40000000) return sizeOfUnsignedVarint((n << 1) ^ (n >> 31));
  // zigzag(n) = 2m + sign; its first byte holds 6 bits of m, then 7 per byte.
  let rest = Math.floor((n >= 0 ? n : -n - 1) / 64);
  let size = 1;
  while (rest > 0) {
    rest = Math.floor(rest / 128);
    size++;
  }
  return size;
}

// --------------------------------------------------------------------------------- writers

/** Write `n` (unsigned 32-bit) at `pos`; returns the position after it. The caller sized `buf`. */
export function writeUnsignedVarint(buf: Uint8Array, pos: number, n: number): number {
  n >>>= 0;
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

/** Write `n` (signed 32-bit) as a zigzag varint at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  return writeUnsignedVarint(buf, pos, (n << 1) ^ (n >> 31));
}

/** Write `n` (a safe integer, see the file comment) as a zigzag varlong; returns the new position. */
export function writeVarlong(buf: Uint8Array, pos: number, n: number): number {
  if (n >= -0x40000000 && n < 0x40000000) return writeUnsignedVarint(buf, pos, (n << 1) ^ (n >> 31));
  // Past 31 bits, bitwise operators would truncate. zigzag(n) = 2m + sign with m = |n| or
  // |n| - 1 can reach 2^54 and lose its low bit as a float, so write it from m directly: the
  // first byte carries the sign and 6 bits of m, every later byte 7 bits (all exact).
  const m = n >= 0 ? n : -n - 1;
  let rest = Math.floor(m / 64);
  buf[pos++] = ((m % 64) * 2 + (n < 0 ? 1 : 0)) | 0x80;
  while (rest >= 0x80) {
    buf[pos++] = (rest % 128) | 0x80;
    rest = Math.floor(rest / 128);
  }
  buf[pos++] = rest;
  return pos;
}

// --------------------------------------------------------------------------------- readers

/** Read an unsigned varint (at most 5 bytes) at `cur.pos`, not past `end`. */
export function readUnsignedVarint(buf: Uint8Array, cur: Cursor, end: number = buf.length): number {
  let pos = cur.pos;
  let value = 0;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (pos >= end) throw truncated(pos);
    const b = buf[pos++]!;
    value |= (b & 0x7f) << (7 * i);
    if (b < 0x80) {
      cur.pos = pos;
      return value >>> 0;
    }
  }
  throw new WeirError('CORRUPT_MESSAGE', `varint longer than ${MAX_VARINT_BYTES} bytes at ${cur.pos}`);
}

/** Read a zigzag varint (signed 32-bit) at `cur.pos`, not past `end`. */
export function readVarint(buf: Uint8Array, cur: Cursor, end: number = buf.length): number {
  const raw = readUnsignedVarint(buf, cur, end);
  return (raw >>> 1) ^ -(raw & 1);
}

/** Read a zigzag varlong at `cur.pos`, not past `end`; see the file comment for its range. */
export function readVarlong(buf: Uint8Array, cur: Cursor, end: number = buf.length): number {
  const start = cur.pos;
  let pos = start;
  // Fast path: up to four bytes (28 bits) fit bitwise arithmetic.
  let low = 0;
  for (let i = 0; i < 4; i++) {
    if (pos >= end) throw truncated(pos);
    const b = buf[pos++]!;
    low |= (b & 0x7f) << (7 * i);
    if (b < 0x80) {
      cur.pos = pos;
      return (low >>> 1) ^ -(low & 1);
    }
  }
  // Past 28 bits, accumulate half the zigzag value (dropping its sign bit) with exact float
  // arithmetic: every partial sum stays an integer below 2^53 for any value in range.
  const negative = low & 1;
  let half = low >>> 1;
  let scale = TWO_POW_27;
  for (let i = 4; i < MAX_VARLONG_BYTES; i++) {
    if (pos >= end) throw truncated(pos);
    const b = buf[pos++]!;
    half += (b & 0x7f) * scale;
    if (b < 0x80) {
      const value = negative ? -half - 1 : half;
      if (!Number.isSafeInteger(value)) {
        throw new WeirError('CORRUPT_MESSAGE', `varlong at ${start} is outside the safe integer range`);
      }
      cur.pos = pos;
      return value;
    }
    scale *= 128;
  }
  throw new WeirError('CORRUPT_MESSAGE', `varlong longer than ${MAX_VARLONG_BYTES} bytes at ${start}`);
}
