import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, it, expect } from 'vitest';
import { CompressionType, compress, decompress } from '../../../src/kafka/protocol/compression.js';
import { lz4DecompressFrame } from '../../../src/kafka/protocol/lz4.js';
import { isXerialFramed, snappyCompress } from '../../../src/kafka/protocol/snappy.js';
import { xxhash32 } from '../../../src/kafka/protocol/xxhash32.js';
import { expectWeir } from '../../helpers/expect-weir.js';
import { loadHex } from './fixtures.js';
import { requireTool } from '../../helpers/required-tools.js';

function jsonish(bytes: number, seed = 0): Buffer {
  let s = '';
  for (let i = 0; s.length < bytes; i++) {
    s += `{"device":"sensor-${(i + seed) % 13}","seq":${i + seed},"temp":${((i * 37) % 400) / 10},"ok":true}\n`;
  }
  return Buffer.from(s.slice(0, bytes));
}

/** Inputs that hit LZ4's and snappy's edge cases: empty, below LZ4's 13-byte minimum, block edges. */
const SIZES = [0, 1, 5, 12, 13, 14, 100, 1000, 65535, 65536, 65537, 200_000];
const CODECS = [CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4] as const;

describe('compress / decompress round trips', () => {
  for (const type of CODECS) {
    it(`${CompressionType[type]}: compressible and random data of every edge size`, () => {
      for (const size of SIZES) {
        for (const data of [jsonish(size), randomBytes(size), Buffer.alloc(size, 0x61)]) {
          expect(decompress(type, compress(type, data)).equals(data)).toBe(true);
        }
      }
    });
  }

  it('zstd compression is refused with UNSUPPORTED_COMPRESSION_TYPE', () => {
    expectWeir('UNSUPPORTED_COMPRESSION_TYPE', () => compress(CompressionType.Zstd, Buffer.from('x')));
  });

  it('unknown types are refused', () => {
    expectWeir('UNSUPPORTED_COMPRESSION_TYPE', () => decompress(7 as CompressionType, Buffer.from('x')));
  });

  it('snappy and lz4 actually compress JSON-ish payloads', () => {
    const data = jsonish(10_000);
    expect(compress(CompressionType.Snappy, data).length).toBeLessThan(data.length / 2);
    expect(compress(CompressionType.Lz4, data).length).toBeLessThan(data.length / 2);
  });
});

describe('snappy framings', () => {
  it('decodes raw snappy (librdkafka) and xerial-framed snappy (Java)', () => {
    const data = jsonish(100_000);
    const raw = snappyCompress(data);
    expect(isXerialFramed(raw)).toBe(false);
    expect(decompress(CompressionType.Snappy, raw).equals(data)).toBe(true);
    // Build xerial framing by hand around 32 KiB raw chunks, as snappy-java does.
    const parts: Buffer[] = [Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])];
    for (let i = 0; i < data.length; i += 32768) {
      const chunk = snappyCompress(data.subarray(i, i + 32768));
      const len = Buffer.alloc(4);
      len.writeInt32BE(chunk.length);
      parts.push(len, chunk);
    }
    const xerial = Buffer.concat(parts);
    expect(isXerialFramed(xerial)).toBe(true);
    expect(decompress(CompressionType.Snappy, xerial).equals(data)).toBe(true);
    // A truncated final chunk is corrupt, not silently short.
    expectWeir('CORRUPT_MESSAGE', () => decompress(CompressionType.Snappy, xerial.subarray(0, xerial.length - 3)));
  });

  it('rejects a raw block whose output falls short of, or overruns, its declared length', () => {
    const good = snappyCompress(Buffer.from('abcdefgh'.repeat(10)));
    const short = Buffer.from(good);
    short[0] = short[0]! + 1; // declare one byte more than the elements produce
    expectWeir('CORRUPT_MESSAGE', () => decompress(CompressionType.Snappy, short));
    const long = Buffer.from(good);
    long[0] = long[0]! - 1;
    expectWeir('CORRUPT_MESSAGE', () => decompress(CompressionType.Snappy, long));
  });
});

describe('lz4 frames', () => {
  it('writes what Java expects: magic, FLG 0x60 (v1, independent blocks), BD 0x40 (64 KiB), valid HC', () => {
    const frame = compress(CompressionType.Lz4, jsonish(150_000));
    expect(frame.readUInt32LE(0)).toBe(0x184d2204);
    expect(frame[4]).toBe(0x60);
    expect(frame[5]).toBe(0x40);
    expect(frame[6]).toBe((xxhash32(frame, 4, 6) >>> 8) & 0xff);
  });

  it('rejects a bad header checksum and bad block checksums', () => {
    const frame = Buffer.from(compress(CompressionType.Lz4, jsonish(1000)));
    frame[6] = frame[6]! ^ 1;
    expectWeir('CORRUPT_MESSAGE', () => decompress(CompressionType.Lz4, frame));
    const withBlockSums = Buffer.from(loadHex('lz4-cli-b4-bx-small').subarray(61));
    withBlockSums[withBlockSums.length - 10] = withBlockSums[withBlockSums.length - 10]! ^ 0x40;
    expectWeir('CORRUPT_MESSAGE', () => decompress(CompressionType.Lz4, withBlockSums));
  });

  it('our frames decode with the reference lz4 CLI', () => {
    requireTool('the lz4 CLI', ['/usr/bin/lz4', ['-V']], 'apt-get install -y lz4');
    for (const data of [jsonish(200_000), randomBytes(70_000), Buffer.alloc(100_000), jsonish(13)]) {
      const out = execFileSync('/usr/bin/lz4', ['-d', '-c', '-q'], { input: compress(CompressionType.Lz4, data) });
      expect(Buffer.compare(out, data)).toBe(0);
    }
  });
});

describe('maxBytes bounds decompressed output (zip bombs)', () => {
  const MiB = 1024 * 1024;

  it('gzip stops inflating at the cap', () => {
    const bomb = gzipSync(Buffer.alloc(64 * MiB));
    expect(bomb.length).toBeLessThan(100_000);
    expectWeir('MESSAGE_TOO_LARGE', () => decompress(CompressionType.Gzip, bomb, MiB));
    expect(decompress(CompressionType.Gzip, gzipSync(Buffer.alloc(MiB)), MiB).length).toBe(MiB);
  });

  it('snappy refuses a declared length over the cap or beyond what the input can expand to', () => {
    const data = compress(CompressionType.Snappy, Buffer.alloc(2 * MiB));
    expectWeir('MESSAGE_TOO_LARGE', () => decompress(CompressionType.Snappy, data, MiB));
    expectWeir('MESSAGE_TOO_LARGE', () => decompress(CompressionType.Snappy, Buffer.from('ffffffff0f0061', 'hex')));
    // Preamble declaring 1 MiB followed by a single literal: no snappy stream expands that much.
    expectWeir('CORRUPT_MESSAGE', () => decompress(CompressionType.Snappy, Buffer.from('8080400061', 'hex')));
  });

  it('lz4 stops at the cap, before allocating what the headers would allow', () => {
    const data = compress(CompressionType.Lz4, Buffer.alloc(4 * MiB));
    expectWeir('MESSAGE_TOO_LARGE', () => decompress(CompressionType.Lz4, data, MiB));
    expect(lz4DecompressFrame(data, 4 * MiB).length).toBe(4 * MiB);
  });

  it('zstd: a content size over the cap is refused from the header', () => {
    // Single-segment frame declaring 2^31 bytes of content (4-byte FCS) and one empty raw block.
    const frame = Buffer.from('28b52ffd' + 'a0' + '00000080' + '010000', 'hex');
    expectWeir('MESSAGE_TOO_LARGE', () => decompress(CompressionType.Zstd, frame, MiB));
  });

  it('zstd: RLE blocks without a content size stream until the cap, then stop', () => {
    // No FCS, window 128 KiB (descriptor 0x38: 2^(10+7)), then RLE blocks of 128 KiB each
    // (4 input bytes -> 131072 output bytes), the last one flagged last.
    const blocks: Buffer[] = [];
    const count = 64; // 8 MiB of output from ~270 bytes
    for (let i = 0; i < count; i++) {
      const header = ((128 * 1024) << 3) | (1 << 1) | (i === count - 1 ? 1 : 0);
      blocks.push(Buffer.from([header & 0xff, (header >>> 8) & 0xff, (header >>> 16) & 0xff, 0x7a]));
    }
    const frame = Buffer.concat([Buffer.from('28b52ffd0038', 'hex'), ...blocks]);
    expectWeir('MESSAGE_TOO_LARGE', () => decompress(CompressionType.Zstd, frame, MiB));
    const out = decompress(CompressionType.Zstd, frame, 8 * MiB);
    expect(out.length).toBe(8 * MiB);
    expect(out.every((b) => b === 0x7a)).toBe(true);
  });

  it('zstd: the streaming path (bound over the cap, output under it) decodes correctly', () => {
    const section = loadHex('zstd-cli-stream-big').subarray(61);
    const full = decompress(CompressionType.Zstd, section);
    // Without a content size the bound is a whole 128 KiB block; a cap just above the real
    // size forces the streaming decoder.
    const streamed = decompress(CompressionType.Zstd, section, full.length);
    expect(streamed.equals(full)).toBe(true);
  });

  it('zstd: windows over 32 MiB and dictionaries are refused', () => {
    expectWeir('CORRUPT_MESSAGE', () => decompress(CompressionType.Zstd, Buffer.from('28b52ffd00a0010000', 'hex')));
    expectWeir('CORRUPT_MESSAGE', () => decompress(CompressionType.Zstd, Buffer.from('28b52ffd213801010000', 'hex')));
  });
});
