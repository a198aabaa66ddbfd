/**
 * LZ4 frames for Kafka record batches (lz4_Frame_format.md v1.6; block format: lz4_Block_format.md).
 *
 *   magic      uint32 LE 0x184D2204
 *   FLG        version (bits 7-6) = 01, block independence (5), block checksum (4),
 *              content size (3), content checksum (2), reserved (1), dictionary id (0)
 *   BD         block max size (bits 6-4): 4 = 64 KB, 5 = 256 KB, 6 = 1 MB, 7 = 4 MB
 *   [content size uint64 LE] [dictionary id uint32 LE]
 *   HC         (xxh32(FLG .. last descriptor byte, seed 0) >> 8) & 0xFF
 *   blocks     [ size uint32 LE (bit 31 = stored uncompressed), data, [xxh32 of data] ]*
 *   end mark   uint32 0, then [content checksum = xxh32 of all output]
 *
 * Why not lz4js (in package.json): its `compress` writes FLG 0x40 (linked blocks), which Kafka's
 * Java `Lz4BlockInputStream` rejects ("Dependent block stream is unsupported"), so a batch it
 * compressed would be refused when mirrored to a Java broker; and its decoder does no bounds
 * checking (reads past the input give `undefined`, writes past the output are dropped, the
 * content-size field is misread), which defeats `maxBytes`. Both directions are implemented here.
 *
 * The encoder writes what Java's `Lz4BlockOutputStream` writes: independent 64 KB blocks, no
 * checksums (the batch CRC-32C already covers these bytes). The decoder accepts any valid frame
 * (linked blocks too), verifies HC and any checksums, and only magic v2 matters: the broken HC of
 * Kafka 0.8-0.10 (KAFKA-3160) was confined to message formats 0 and 1.
 */

import { WeirError } from '../../errors.js';
import { decompressedTooLarge } from './decompressed-too-large.js';
import { xxhash32 } from './xxhash32.js';

const MAGIC = 0x184d2204;
const FLG_VERSION_MASK = 0xc0;
const FLG_VERSION_01 = 0x40;
const FLG_BLOCK_INDEPENDENCE = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x02;
const FLG_DICT_ID = 0x01;
const BD_RESERVED = 0x8f;
const BLOCK_UNCOMPRESSED = 0x80000000;
const HEADER_MIN = 7;

const ENCODE_BLOCK_SIZE = 64 * 1024;
const ENCODE_BD = 4 << 4;

/** Block format constants (lz4_Block_format.md, "End of block conditions"). */
const MIN_MATCH = 4;
const LAST_LITERALS = 5;
const MF_LIMIT = 12;
const MAX_OFFSET = 65535;
/** The most output one compressed byte can yield (a 0xFF length-extension byte). */
const MAX_EXPANSION = 255;
/** Below this many bytes a plain loop beats set()/copyWithin() (measured on Node 20). */
const SHORT_COPY = 64;

function corrupt(message: string): WeirError {
  return new WeirError('CORRUPT_MESSAGE', `lz4: ${message}`);
}

function readU32LE(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

function writeU32LE(b: Uint8Array, i: number, v: number): void {
  b[i] = v & 0xff;
  b[i + 1] = (v >>> 8) & 0xff;
  b[i + 2] = (v >>> 16) & 0xff;
  b[i + 3] = (v >>> 24) & 0xff;
}

// ------------------------------------------------------------------------------------ encode

const HASH_LOG = 14;
/** Last position seen per 4-byte hash; stale entries from earlier calls are harmless (verified). */
const hashTable = new Int32Array(1 << HASH_LOG);

function read4(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

/** The reference byU32 hash: Knuth's multiplicative constant, top HASH_LOG bits. */
function hash4(seq: number): number {
  return Math.imul(seq, 0x9e3779b1) >>> (32 - HASH_LOG);
}

/** Worst-case size of one compressed block (LZ4_compressBound). */
function blockBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

/** Encode `data` as one LZ4 frame of independent 64 KB blocks, as Kafka's Java client does. */
export function lz4CompressFrame(data: Uint8Array): Buffer {
  const blocks = Math.max(1, Math.ceil(data.length / ENCODE_BLOCK_SIZE));
  const out = Buffer.allocUnsafe(HEADER_MIN + blocks * 4 + blockBound(data.length) + blocks * 16 + 4);
  writeU32LE(out, 0, MAGIC);
  out[4] = FLG_VERSION_01 | FLG_BLOCK_INDEPENDENCE;
  out[5] = ENCODE_BD;
  out[6] = (xxhash32(out, 4, 6) >>> 8) & 0xff;
  let op = HEADER_MIN;
  for (let start = 0; start < data.length; start += ENCODE_BLOCK_SIZE) {
    const end = Math.min(start + ENCODE_BLOCK_SIZE, data.length);
    const size = compressBlock(data, start, end, out, op + 4);
    if (size >= end - start) {
      // Incompressible: store it, as the spec allows and Java's writer does.
      writeU32LE(out, op, (end - start) | BLOCK_UNCOMPRESSED);
      out.set(data.subarray(start, end), op + 4);
      op += 4 + (end - start);
    } else {
      writeU32LE(out, op, size);
      op += 4 + size;
    }
  }
  writeU32LE(out, op, 0);
  op += 4;
  return Buffer.from(out.subarray(0, op));
}

/**
 * Greedy LZ4 block compression of `src[start, end)` into `dst` at `dpos`; returns the bytes
 * written. Follows the reference compressor's rules so any decoder accepts the output: matches
 * start at most MF_LIMIT bytes before the end and the last LAST_LITERALS bytes are literals.
 */
function compressBlock(src: Uint8Array, start: number, end: number, dst: Uint8Array, dpos: number): number {
  const d0 = dpos;
  let anchor = start;
  if (end - start > MF_LIMIT) {
    const matchLimit = end - LAST_LITERALS;
    const mfLimit = end - MF_LIMIT;
    let ip = start;
    let misses = 1 << 6;
    while (ip <= mfLimit) {
      const seq = read4(src, ip);
      const h = hash4(seq);
      let ref = hashTable[h]!;
      hashTable[h] = ip;
      if (ref < start || ref >= ip || ip - ref > MAX_OFFSET || read4(src, ref) !== seq) {
        // Skip faster through data that does not compress (the reference "acceleration").
        ip += misses++ >>> 6;
        continue;
      }
      misses = 1 << 6;
      // Extend backwards over literals, then forwards.
      while (ip > anchor && ref > start && src[ip - 1] === src[ref - 1]) {
        ip--;
        ref--;
      }
      let mEnd = ip + MIN_MATCH;
      let r = ref + MIN_MATCH;
      while (mEnd < matchLimit && src[mEnd] === src[r]) {
        mEnd++;
        r++;
      }
      dpos = writeSequence(src, anchor, ip - anchor, ip - ref, mEnd - ip - MIN_MATCH, dst, dpos);
      ip = mEnd;
      anchor = ip;
      // Like the reference compressor, index a position inside the match just written so the
      // next search has a recent candidate (cheap, and worth a few percent of ratio on JSON).
      if (ip <= mfLimit) hashTable[hash4(read4(src, ip - 2))] = ip - 2;
    }
  }
  // Last literals (the whole block when it is too short to hold a match).
  return writeSequence(src, anchor, end - anchor, 0, -1, dst, dpos) - d0;
}

/** One sequence: token, literal length, literals, then offset and match length unless matchLen < 0. */
function writeSequence(
  src: Uint8Array, litStart: number, litLen: number, offset: number, matchLen: number, dst: Uint8Array, d: number,
): number {
  const tokenPos = d++;
  let token = 0;
  if (litLen >= 15) {
    token = 0xf0;
    let n = litLen - 15;
    for (; n >= 255; n -= 255) dst[d++] = 255;
    dst[d++] = n;
  } else {
    token = litLen << 4;
  }
  if (litLen < SHORT_COPY) {
    for (let i = 0; i < litLen; i++) dst[d++] = src[litStart + i]!;
  } else {
    dst.set(src.subarray(litStart, litStart + litLen), d);
    d += litLen;
  }
  if (matchLen >= 0) {
    dst[d++] = offset & 0xff;
    dst[d++] = offset >>> 8;
    if (matchLen >= 15) {
      token |= 0x0f;
      let n = matchLen - 15;
      for (; n >= 255; n -= 255) dst[d++] = 255;
      dst[d++] = n;
    } else {
      token |= matchLen;
    }
  }
  dst[tokenPos] = token;
  return d;
}

// ------------------------------------------------------------------------------------ decode

interface FrameInfo {
  flg: number;
  maxBlockSize: number;
  contentSize: number;
  dataStart: number;
}

function readFrameHeader(src: Uint8Array): FrameInfo {
  if (src.length < HEADER_MIN) throw corrupt('frame shorter than its header');
  if (readU32LE(src, 0) !== MAGIC) throw corrupt('bad magic number');
  const flg = src[4]!;
  const bd = src[5]!;
  if ((flg & FLG_VERSION_MASK) !== FLG_VERSION_01) throw corrupt(`unsupported frame version in FLG 0x${flg.toString(16)}`);
  if (flg & (FLG_RESERVED | FLG_DICT_ID)) throw corrupt('reserved FLG bit or dictionary id set');
  if (bd & BD_RESERVED) throw corrupt('reserved BD bits set');
  const sizeId = bd >>> 4;
  if (sizeId < 4) throw corrupt(`invalid block size id ${sizeId}`);
  let pos = 6;
  let contentSize = -1;
  if (flg & FLG_CONTENT_SIZE) {
    if (src.length < pos + 9) throw corrupt('truncated content size');
    const high = readU32LE(src, pos + 4);
    // Anything past 2^53 is far beyond any maxBytes; keep it as an impossible size.
    contentSize = high >= 0x200000 ? Number.MAX_SAFE_INTEGER : high * 2 ** 32 + readU32LE(src, pos);
    pos += 8;
  }
  if (((xxhash32(src, 4, pos) >>> 8) & 0xff) !== src[pos]) throw corrupt('frame descriptor checksum mismatch');
  // 64 KB << 2 * (id - 4): 64 KB, 256 KB, 1 MB, 4 MB.
  return { flg, maxBlockSize: 1 << (2 * sizeId + 8), contentSize, dataStart: pos + 1 };
}

/**
 * Decode one LZ4 frame. Trailing bytes after the frame are ignored, as Java's reader does.
 * Throws CORRUPT_MESSAGE for invalid input, MESSAGE_TOO_LARGE past `maxBytes` of output.
 */
export function lz4DecompressFrame(src: Uint8Array, maxBytes: number): Buffer {
  const frame = readFrameHeader(src);
  const blockChecksum = (frame.flg & FLG_BLOCK_CHECKSUM) !== 0;
  const tooLarge = (size: number): WeirError => decompressedTooLarge('lz4', size, maxBytes);
  if (frame.contentSize > maxBytes) throw tooLarge(frame.contentSize);

  // First pass: walk the block headers so the output is allocated once, bounded by what the
  // blocks could possibly produce and by maxBytes.
  let bound = 0;
  let pos = frame.dataStart;
  for (;;) {
    if (pos + 4 > src.length) throw corrupt('truncated block header');
    const word = readU32LE(src, pos);
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (size > frame.maxBlockSize) throw corrupt(`block of ${size} bytes exceeds the frame's ${frame.maxBlockSize}`);
    pos += 4 + size + (blockChecksum ? 4 : 0);
    if (pos > src.length) throw corrupt('truncated block');
    bound += word & BLOCK_UNCOMPRESSED ? size : Math.min(frame.maxBlockSize, size * MAX_EXPANSION);
  }
  const out = Buffer.allocUnsafe(Math.min(bound, maxBytes, frame.contentSize >= 0 ? frame.contentSize : Infinity));

  let op = 0;
  pos = frame.dataStart;
  for (;;) {
    const word = readU32LE(src, pos);
    pos += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (blockChecksum && xxhash32(src, pos, pos + size) !== readU32LE(src, pos + size)) throw corrupt('block checksum mismatch');
    const blockStart = op;
    const limit = Math.min(out.length, blockStart + frame.maxBlockSize);
    if (word & BLOCK_UNCOMPRESSED) {
      if (size > limit - op) throw op + size > maxBytes ? tooLarge(op + size) : corrupt('stored block overruns the content size');
      out.set(src.subarray(pos, pos + size), op);
      op += size;
    } else {
      // Linked blocks may refer back into earlier output; independent ones only into their own.
      const window = frame.flg & FLG_BLOCK_INDEPENDENCE ? blockStart : 0;
      op = decodeBlock(src, pos, pos + size, out, op, limit, window, (need) =>
        need > maxBytes ? tooLarge(need) : corrupt('block output overruns its maximum or the content size'),
      );
    }
    pos += size + (blockChecksum ? 4 : 0);
  }
  if (frame.contentSize >= 0 && op !== frame.contentSize) throw corrupt(`decoded ${op} bytes, frame declares ${frame.contentSize}`);
  if (frame.flg & FLG_CONTENT_CHECKSUM) {
    if (pos + 4 > src.length) throw corrupt('truncated content checksum');
    if (xxhash32(out, 0, op) !== readU32LE(src, pos)) throw corrupt('content checksum mismatch');
  }
  return op === out.length ? out : op < out.length / 2 ? Buffer.from(out.subarray(0, op)) : out.subarray(0, op);
}

/** Decode one block of sequences from `src[ip, end)` into `dst[op, limit)`; returns the new op. */
function decodeBlock(
  src: Uint8Array, ip: number, end: number, dst: Uint8Array, op: number, limit: number, window: number,
  overrun: (need: number) => WeirError,
): number {
  for (;;) {
    if (ip >= end) throw corrupt('block ends without a final literal run');
    const token = src[ip++]!;
    let litLen = token >>> 4;
    if (litLen === 15) {
      let b: number;
      do {
        if (ip >= end) throw corrupt('truncated literal length');
        b = src[ip++]!;
        litLen += b;
      } while (b === 255);
    }
    if (litLen > end - ip) throw corrupt('literals overrun the block');
    if (litLen > limit - op) throw overrun(op + litLen);
    // Short runs copy faster byte by byte than through subarray() + set() (an allocation each).
    if (litLen < SHORT_COPY) {
      for (let i = 0; i < litLen; i++) dst[op + i] = src[ip + i]!;
    } else {
      dst.set(src.subarray(ip, ip + litLen), op);
    }
    ip += litLen;
    op += litLen;
    if (ip === end) return op; // the last sequence has literals only
    if (ip + 2 > end) throw corrupt('truncated match offset');
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op - window) throw corrupt(`match offset ${offset} reaches before the window`);
    let matchLen = token & 15;
    if (matchLen === 15) {
      let b: number;
      do {
        if (ip >= end) throw corrupt('truncated match length');
        b = src[ip++]!;
        matchLen += b;
      } while (b === 255);
    }
    matchLen += MIN_MATCH;
    if (matchLen > limit - op) throw overrun(op + matchLen);
    if (offset >= matchLen && matchLen >= SHORT_COPY) {
      dst.copyWithin(op, op - offset, op - offset + matchLen);
      op += matchLen;
    } else {
      // Short, or overlapping (repeating the last `offset` bytes): copy forwards byte by byte.
      for (let from = op - offset, stop = op + matchLen; op < stop; ) dst[op++] = dst[from++]!;
    }
  }
}
