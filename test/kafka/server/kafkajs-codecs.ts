/**
 * Snappy, LZ4 and zstd for kafkajs, which ships only gzip and takes the others as plugins
 * (kafkajs-snappy, kafkajs-lz4, @kafkajs/zstd: native modules not installed here). These
 * register equivalents built from independent code, never Weir's own codecs, so a batch kafkajs
 * sends is not one Weir's codec made:
 *
 * - snappy: snappyjs, wrapped in xerial framing as Java's producer sends it (librdkafka sends raw
 *   snappy, so between the two clients both forms reach the broker);
 * - lz4: lz4js (LZ4 frame, linked blocks);
 * - zstd: frames of raw (stored) blocks, written here per RFC 8878 section 3.1 (valid zstd that
 *   any decoder reads), decoded with fzstd.
 */
import { createRequire } from 'node:module';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import snappyjs from 'snappyjs';
import { decompress as zstdDecompress } from 'fzstd';

const require = createRequire(import.meta.url);
const lz4js = require('lz4js') as { compress(b: Uint8Array): Uint8Array; decompress(b: Uint8Array): Uint8Array };

interface Encoder {
  buffer: Buffer;
}

/** xerial snappy-java stream header: magic, version 1, compatible version 1. */
const XERIAL_HEADER = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
const XERIAL_BLOCK = 32 * 1024;

export function xerialSnappy(data: Buffer): Buffer {
  const parts: Buffer[] = [XERIAL_HEADER];
  for (let at = 0; at < data.length; at += XERIAL_BLOCK) {
    const block = snappyjs.compress(data.subarray(at, at + XERIAL_BLOCK));
    const size = Buffer.alloc(4);
    size.writeInt32BE(block.length, 0);
    parts.push(size, Buffer.from(block));
  }
  return Buffer.concat(parts);
}

function unsnappy(data: Buffer): Buffer {
  if (data.length < XERIAL_HEADER.length || !data.subarray(0, 8).equals(XERIAL_HEADER.subarray(0, 8))) return Buffer.from(snappyjs.uncompress(data));
  const out: Buffer[] = [];
  for (let at = XERIAL_HEADER.length; at < data.length;) {
    const size = data.readInt32BE(at);
    out.push(Buffer.from(snappyjs.uncompress(data.subarray(at + 4, at + 4 + size))));
    at += 4 + size;
  }
  return Buffer.concat(out);
}

/** RFC 8878: magic, descriptor (single segment, 8-byte content size), raw blocks of ≤128 KiB. */
export function zstdStored(data: Buffer): Buffer {
  const head = Buffer.alloc(13);
  head.writeUInt32LE(0xfd2fb528, 0);
  head[4] = 0xe0; // Frame_Content_Size_flag 3 (8 bytes), Single_Segment_flag 1, no checksum, no dictionary
  head.writeBigUInt64LE(BigInt(data.length), 5);
  const parts: Buffer[] = [head];
  const MAX_BLOCK = 128 * 1024;
  let at = 0;
  do {
    const size = Math.min(MAX_BLOCK, data.length - at);
    const last = at + size >= data.length ? 1 : 0;
    const blockHeader = Buffer.alloc(3);
    blockHeader.writeUIntLE((size << 3) | (0 << 1) | last, 0, 3); // Block_Type 0 = Raw_Block
    parts.push(blockHeader, data.subarray(at, at + size));
    at += size;
  } while (at < data.length);
  return Buffer.concat(parts);
}

export function registerKafkajsCodecs(): void {
  const codec = (compress: (b: Buffer) => Buffer, decompress: (b: Buffer) => Buffer) => () => ({
    compress: async (encoder: Encoder) => compress(encoder.buffer),
    decompress: async (buffer: Buffer) => decompress(buffer),
  });
  CompressionCodecs[CompressionTypes.Snappy] = codec(xerialSnappy, unsnappy);
  CompressionCodecs[CompressionTypes.LZ4] = codec((b) => Buffer.from(lz4js.compress(b)), (b) => Buffer.from(lz4js.decompress(b)));
  CompressionCodecs[CompressionTypes.ZSTD] = codec(zstdStored, (b) => Buffer.from(zstdDecompress(b)));
}
