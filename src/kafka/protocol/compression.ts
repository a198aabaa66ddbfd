/**
 * Record batch compression codecs: attributes bits 0-2 of RecordBatch v2 (KIP-98; zstd KIP-110).
 *
 * Everything is pure JS or node:zlib, so nothing needs a compiler on a Raspberry Pi. The codec
 * details live in snappy.ts, lz4.ts and zstd.ts; this file picks one and enforces `maxBytes`,
 * the cap on decompressed output that keeps a small "zip bomb" batch from exhausting memory.
 */

import { gzipSync, gunzipSync } from 'node:zlib';
import { WeirError, isWeirError } from '../../errors.js';
import { lz4CompressFrame, lz4DecompressFrame } from './lz4.js';
import { snappyCompress, snappyDecompress } from './snappy.js';
import { zstdDecompress } from './zstd.js';

export enum CompressionType {
  None = 0,
  Gzip = 1,
  Snappy = 2,
  Lz4 = 3,
  Zstd = 4,
}

/**
 * Default cap on one batch's decompressed size: 64 MiB. Kafka's own default
 * `message.max.bytes` is about 1 MiB *compressed*; callers that know the topic's limit should
 * pass a tighter one.
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

export function isCompressionType(n: number): n is CompressionType {
  return n >= CompressionType.None && n <= CompressionType.Zstd && Number.isInteger(n);
}

const GZIP_LEVEL = 3;

/** Compress `data` for a record batch. Zstd is decode-only (see zstd.ts). */
export function compress(type: CompressionType, data: Buffer): Buffer {
  switch (type) {
    case CompressionType.None:
      return data;
    case CompressionType.Gzip:
      // Level 3, not zlib's default 6: on batches of sensor JSON with their mqtt.* headers it
      // compresses several times faster for output only slightly larger (figures in
      // BENCHMARKS.md, "Flash wear"). Any level decodes the same.
      return gzipSync(data, { level: GZIP_LEVEL });
    case CompressionType.Snappy:
      return snappyCompress(data);
    case CompressionType.Lz4:
      return lz4CompressFrame(data);
    case CompressionType.Zstd:
      throw new WeirError('UNSUPPORTED_COMPRESSION_TYPE', 'zstd compression is not supported (decode only: Node 20 zlib has no zstd)', {
        details: { compression: type },
      });
    default:
      throw unsupported(type);
  }
}

/**
 * Decompress a record batch's records section. Invalid data throws CORRUPT_MESSAGE; output
 * larger than `maxBytes` throws MESSAGE_TOO_LARGE before (or instead of) allocating it.
 */
export function decompress(type: CompressionType, data: Uint8Array, maxBytes: number = DEFAULT_MAX_DECOMPRESSED_BYTES): Buffer {
  switch (type) {
    case CompressionType.None:
      if (data.length > maxBytes) throw tooLarge(data.length, maxBytes);
      return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    case CompressionType.Gzip:
      return gunzip(data, maxBytes);
    case CompressionType.Snappy:
      return snappyDecompress(data, maxBytes);
    case CompressionType.Lz4:
      return lz4DecompressFrame(data, maxBytes);
    case CompressionType.Zstd:
      return zstdDecompress(data, maxBytes);
    default:
      throw unsupported(type);
  }
}

function gunzip(data: Uint8Array, maxBytes: number): Buffer {
  try {
    // maxOutputLength makes zlib stop inflating at the cap instead of after the fact.
    return gunzipSync(data, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (err) {
    if (isWeirError(err)) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(maxBytes + 1, maxBytes);
    throw new WeirError('CORRUPT_MESSAGE', `gzip: ${(err as Error).message}`, { cause: err });
  }
}

function tooLarge(size: number, maxBytes: number): WeirError {
  return new WeirError('MESSAGE_TOO_LARGE', `decompressed size exceeds the limit of ${maxBytes} bytes`, {
    details: { atLeast: size, maxBytes },
  });
}

function unsupported(type: number): WeirError {
  return new WeirError('UNSUPPORTED_COMPRESSION_TYPE', `unknown compression type ${type}`, { details: { compression: type } });
}
