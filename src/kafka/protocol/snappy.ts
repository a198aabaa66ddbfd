/**
 * Snappy for Kafka record batches.
 *
 * Kafka producers send snappy in two framings:
 * - raw: one snappy block (librdkafka, kafkajs-snappy);
 * - xerial: snappy-java's `SnappyOutputStream` framing (the Java client, kafka-python):
 *     magic   8 bytes  0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00
 *     version int32 BE (1), compatible version int32 BE (1)
 *     [ chunkLength int32 BE, chunk: one raw snappy block ]*
 * Java's reader (snappy-java `SnappyInputStream`) falls back to raw when the magic is absent, and
 * librdkafka reads both, so encoding raw (like librdkafka) is readable by every client.
 *
 * Decoding is our own strict implementation of Google's format_description.txt rather than
 * snappyjs's `uncompress`: snappyjs neither checks that output fits the declared length nor that
 * it fills it, and lets a negative declared length reach `Buffer.alloc`. Here every element is
 * bounds-checked, the output must be exactly the declared length, and the declared length is
 * checked against `maxBytes` and against snappy's maximum expansion before anything is allocated.
 */

import snappyjs from 'snappyjs';
import { WeirError } from '../../errors.js';
import { decompressedTooLarge } from './decompressed-too-large.js';
import { readUnsignedVarint, type Cursor } from './varint.js';

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** Magic (8) + version (4) + compatible version (4). */
const XERIAL_HEADER_SIZE = 16;
const CHUNK_LENGTH_SIZE = 4;
/**
 * The most output one input byte can produce: a 3-byte copy-2 element yields at most 64 bytes
 * (format_description.txt, section 2.2.2), i.e. 21.3x; literals and copy-1 expand less.
 */
const MAX_EXPANSION = 22;

const TAG_LITERAL = 0;
const TAG_COPY_1 = 1;
const TAG_COPY_2 = 2;

function corrupt(message: string): WeirError {
  return new WeirError('CORRUPT_MESSAGE', `snappy: ${message}`);
}

/** Raw snappy encoding (one block, no framing). */
export function snappyCompress(data: Uint8Array): Buffer {
  const out = snappyjs.compress(data);
  return Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

export function isXerialFramed(data: Uint8Array): boolean {
  if (data.length < XERIAL_HEADER_SIZE) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

/** Decode raw or xerial-framed snappy; throws CORRUPT_MESSAGE or MESSAGE_TOO_LARGE. */
export function snappyDecompress(data: Uint8Array, maxBytes: number): Buffer {
  return isXerialFramed(data) ? decodeXerial(data, maxBytes) : decodeRaw(data, maxBytes);
}

function decodeRaw(data: Uint8Array, maxBytes: number): Buffer {
  const cur: Cursor = { pos: 0 };
  const size = readDeclaredLength(data, cur, data.length, maxBytes);
  const out = Buffer.allocUnsafe(size);
  decodeBlockInto(data, cur.pos, data.length, out, 0, size);
  return out;
}

function decodeXerial(data: Uint8Array, maxBytes: number): Buffer {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  // First pass: validate the chunk framing and add up declared sizes, so we allocate once.
  let total = 0;
  let pos = XERIAL_HEADER_SIZE;
  while (pos < data.length) {
    const chunkEnd = chunkBounds(data, view, pos);
    const cur: Cursor = { pos: pos + CHUNK_LENGTH_SIZE };
    total += readDeclaredLength(data, cur, chunkEnd, maxBytes);
    if (total > maxBytes) throw decompressedTooLarge('snappy', total, maxBytes);
    pos = chunkEnd;
  }
  const out = Buffer.allocUnsafe(total);
  let outPos = 0;
  pos = XERIAL_HEADER_SIZE;
  while (pos < data.length) {
    const chunkEnd = chunkBounds(data, view, pos);
    const cur: Cursor = { pos: pos + CHUNK_LENGTH_SIZE };
    const size = readDeclaredLength(data, cur, chunkEnd, maxBytes);
    decodeBlockInto(data, cur.pos, chunkEnd, out, outPos, size);
    outPos += size;
    pos = chunkEnd;
  }
  return out;
}

function chunkBounds(data: Uint8Array, view: DataView, pos: number): number {
  if (pos + CHUNK_LENGTH_SIZE > data.length) throw corrupt(`truncated xerial chunk header at ${pos}`);
  const length = view.getInt32(pos);
  const end = pos + CHUNK_LENGTH_SIZE + length;
  if (length <= 0 || end > data.length) throw corrupt(`xerial chunk length ${length} at ${pos} is invalid`);
  return end;
}

/** The uncompressed length preamble (a uvarint), checked against the limit and the input size. */
function readDeclaredLength(data: Uint8Array, cur: Cursor, end: number, maxBytes: number): number {
  const size = readUnsignedVarint(data, cur, end);
  if (size > maxBytes) throw decompressedTooLarge('snappy', size, maxBytes);
  if (size > (end - cur.pos) * MAX_EXPANSION) throw corrupt(`declared length ${size} is impossible for ${end - cur.pos} input bytes`);
  return size;
}

/**
 * Decode the elements in `src[pos, end)` into `out[outStart, outStart + size)`, which they must
 * fill exactly. Copies may not reach before `outStart` (each xerial chunk is independent).
 */
function decodeBlockInto(src: Uint8Array, pos: number, end: number, out: Uint8Array, outStart: number, size: number): void {
  const outEnd = outStart + size;
  let op = outStart;
  while (pos < end) {
    const tag = src[pos++]!;
    const type = tag & 3;
    if (type === TAG_LITERAL) {
      let len = (tag >>> 2) + 1;
      if (len > 60) {
        // 61..64: the length - 1 follows in 1..4 little-endian bytes.
        const n = len - 60;
        if (pos + n > end) throw corrupt('truncated literal length');
        len = 0;
        for (let i = n - 1; i >= 0; i--) len = len * 256 + src[pos + i]!;
        len += 1;
        pos += n;
      }
      if (len > end - pos || len > outEnd - op) throw corrupt(`literal of ${len} bytes overruns its block`);
      if (len < 16) {
        for (let i = 0; i < len; i++) out[op + i] = src[pos + i]!;
      } else {
        out.set(src.subarray(pos, pos + len), op);
      }
      pos += len;
      op += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (type === TAG_COPY_1) {
      if (pos + 1 > end) throw corrupt('truncated copy');
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | src[pos]!;
      pos += 1;
    } else if (type === TAG_COPY_2) {
      if (pos + 2 > end) throw corrupt('truncated copy');
      len = (tag >>> 2) + 1;
      offset = src[pos]! | (src[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 4 > end) throw corrupt('truncated copy');
      len = (tag >>> 2) + 1;
      offset = (src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16) | (src[pos + 3]! << 24)) >>> 0;
      pos += 4;
    }
    if (offset === 0 || offset > op - outStart) throw corrupt(`copy offset ${offset} reaches before the block`);
    if (len > outEnd - op) throw corrupt(`copy of ${len} bytes overruns the declared length`);
    // Byte by byte: a copy may overlap its own output (offset < len repeats a pattern).
    for (let from = op - offset, stop = op + len; op < stop; ) out[op++] = out[from++]!;
  }
  if (op !== outEnd) throw corrupt(`decoded ${op - outStart} bytes, declared ${size}`);
}
