/**
 * Zstandard decoding for Kafka record batches (KIP-110; Produce v7+ / Fetch v10+).
 *
 * Decoding is fzstd's; this file only makes it safe to call on untrusted bytes. fzstd allocates
 * whatever a frame header declares (a 4-byte Frame_Content_Size of 4 GiB, a 2 GiB window) and
 * has no output limit, so before calling it we walk every frame and block header (RFC 8878,
 * section 3.1) to check the frame layout, cap the window size and bound the total output:
 *
 *   frame      magic 0xFD2FB528 LE, Frame_Header_Descriptor, [Window_Descriptor],
 *              [Dictionary_ID], [Frame_Content_Size], blocks, [Content_Checksum 4 bytes]
 *   block      3-byte LE header: Last_Block (bit 0), Block_Type (bits 1-2: raw, RLE,
 *              compressed, reserved), Block_Size (bits 3-23); content is Block_Size bytes,
 *              except RLE (1 byte repeated Block_Size times)
 *   skippable  magic 0x184D2A5? LE, size uint32 LE, data
 *
 * When the bound is within `maxBytes` fzstd decodes in one call; otherwise (a frame without a
 * content size whose blocks *could* exceed it) we stream and stop as soon as output passes it.
 * Node 20's zlib has no zstd, and there is no pure-JS zstd encoder we trust, so Weir does not
 * compress with zstd. Content checksums (XXH64) are not verified: the batch CRC covers these bytes.
 */

import { decompress as fzstdDecompress, Decompress as FzstdStream } from 'fzstd';
import { WeirError, isWeirError } from '../../errors.js';
import { decompressedTooLarge } from './decompressed-too-large.js';

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const BLOCK_HEADER_SIZE = 3;
const BLOCK_TYPE_RAW = 0;
const BLOCK_TYPE_RLE = 1;
const BLOCK_TYPE_RESERVED = 3;
const MAX_BLOCK_SIZE = 128 * 1024;
/**
 * Largest window accepted: 32 MiB (windowLog 25). Levels up to 19 use at most windowLog 23;
 * Java's default level 3 streams with windowLog 21 (2 MiB). The window is allocated up front, so
 * it is capped independently of maxBytes (a 2 MiB window legitimately carries 1 KB of records).
 */
export const ZSTD_MAX_WINDOW_BYTES = 32 * 1024 * 1024;

function corrupt(message: string, cause?: unknown): WeirError {
  return new WeirError('CORRUPT_MESSAGE', `zstd: ${message}`, { cause });
}

function readLE(b: Uint8Array, pos: number, n: number): number {
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + b[pos + i]!;
  return v;
}

/** Walks all frames; returns an upper bound of the decompressed size. */
function outputBound(data: Uint8Array, maxBytes: number): number {
  let pos = 0;
  let bound = 0;
  if (data.length === 0) throw corrupt('no frame');
  while (pos < data.length) {
    if (pos + 4 > data.length) throw corrupt('truncated magic number');
    const magic = readLE(data, pos, 4);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      pos = skipSkippableFrame(data, pos);
      continue;
    }
    if (magic !== FRAME_MAGIC) throw corrupt(`bad magic number at ${pos}`);
    const frame = readFrameHeader(data, pos + 4);
    if (frame.contentSize > maxBytes - bound) throw decompressedTooLarge('zstd', bound + frame.contentSize, maxBytes);
    if (frame.windowSize > ZSTD_MAX_WINDOW_BYTES) throw corrupt(`window of ${frame.windowSize} bytes exceeds ${ZSTD_MAX_WINDOW_BYTES}`);
    const blocks = walkBlocks(data, frame.end, Math.min(frame.windowSize, MAX_BLOCK_SIZE));
    pos = blocks.end;
    if (frame.hasChecksum) pos += 4;
    if (pos > data.length) throw corrupt('truncated content checksum');
    bound += frame.contentSize >= 0 ? frame.contentSize : blocks.bound;
  }
  return bound;
}

/** The position after the skippable frame at `pos` (magic, 4-byte length, that many bytes). */
function skipSkippableFrame(data: Uint8Array, pos: number): number {
  if (pos + 8 > data.length) throw corrupt('truncated skippable frame');
  const end = pos + 8 + readLE(data, pos + 4, 4);
  if (end > data.length) throw corrupt('truncated skippable frame');
  return end;
}

/**
 * The frame header starting at `pos` (just after the magic number): the content size (-1 when
 * the frame does not say), the window size, whether a content checksum follows the blocks, and
 * where the first block starts.
 */
function readFrameHeader(data: Uint8Array, pos: number): { end: number; contentSize: number; windowSize: number; hasChecksum: boolean } {
  if (pos >= data.length) throw corrupt('truncated frame header');
  const fhd = data[pos++]!;
  const fcsFlag = fhd >>> 6;
  const singleSegment = (fhd & 0x20) !== 0;
  const hasChecksum = (fhd & 0x04) !== 0;
  const dictIdSize = [0, 1, 2, 4][fhd & 3]!;
  if (fhd & 0x08) throw corrupt('reserved frame header bit set');
  let windowSize = 0;
  if (!singleSegment) {
    if (pos >= data.length) throw corrupt('truncated window descriptor');
    const wd = data[pos++]!;
    const windowBase = 2 ** (10 + (wd >>> 3));
    windowSize = windowBase + (windowBase / 8) * (wd & 7);
  }
  const fcsSize = fcsFlag === 0 ? (singleSegment ? 1 : 0) : 1 << fcsFlag;
  if (pos + dictIdSize + fcsSize > data.length) throw corrupt('truncated frame header');
  if (dictIdSize > 0 && readLE(data, pos, dictIdSize) !== 0) throw corrupt('dictionaries are not supported');
  pos += dictIdSize;
  let contentSize = -1;
  if (fcsSize > 0) {
    contentSize = readLE(data, pos, fcsSize) + (fcsSize === 2 ? 256 : 0);
    pos += fcsSize;
  }
  if (singleSegment) windowSize = contentSize;
  return { end: pos, contentSize, windowSize, hasChecksum };
}

/** Walks a frame's blocks from `pos` to its last one: where they end, and at most how many bytes they decode to. */
function walkBlocks(data: Uint8Array, pos: number, maxBlock: number): { end: number; bound: number } {
  let bound = 0;
  for (let last = false; !last; ) {
    if (pos + BLOCK_HEADER_SIZE > data.length) throw corrupt('truncated block header');
    const header = readLE(data, pos, BLOCK_HEADER_SIZE);
    pos += BLOCK_HEADER_SIZE;
    last = (header & 1) === 1;
    const type = (header >>> 1) & 3;
    const size = header >>> 3;
    if (type === BLOCK_TYPE_RESERVED) throw corrupt('reserved block type');
    if (size > maxBlock) throw corrupt(`block of ${size} bytes exceeds the maximum ${maxBlock}`);
    pos += type === BLOCK_TYPE_RLE ? 1 : size;
    if (pos > data.length) throw corrupt('truncated block');
    bound += type === BLOCK_TYPE_RAW || type === BLOCK_TYPE_RLE ? size : maxBlock;
  }
  return { end: pos, bound };
}

/** Decode one or more zstd frames; throws CORRUPT_MESSAGE or MESSAGE_TOO_LARGE. */
export function zstdDecompress(data: Uint8Array, maxBytes: number): Buffer {
  const bound = outputBound(data, maxBytes);
  try {
    if (bound <= maxBytes) {
      const out = fzstdDecompress(data);
      if (out.length > bound) throw corrupt(`decoded ${out.length} bytes, more than the headers allow`);
      return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    const stream = new FzstdStream((chunk) => {
      total += chunk.length;
      if (total > maxBytes) throw decompressedTooLarge('zstd', total, maxBytes);
      chunks.push(chunk);
    });
    stream.push(data, true);
    return Buffer.concat(chunks, total);
  } catch (err) {
    if (isWeirError(err)) throw err;
    throw corrupt((err as Error).message ?? 'invalid data', err);
  }
}
