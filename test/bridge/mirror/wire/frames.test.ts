/**
 * ResponseFrameReader: a stream of Kafka response frames cut into chunks anywhere (inside a size
 * prefix, across frames, one byte at a time, several frames per chunk) comes out as the same
 * frames; a size no response can have is an error at once.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_RESPONSE_BYTES, ResponseFrameReader } from '../../../../bridge/mirror/wire/connection.js';

function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

/** A deterministic pseudo-random chunking of `stream` (sizes 1..maxChunk). */
function chunked(stream: Buffer, maxChunk: number, seed: number): Buffer[] {
  const out: Buffer[] = [];
  let x = seed;
  for (let pos = 0; pos < stream.length; ) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const n = 1 + (x % maxChunk);
    out.push(stream.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

describe('ResponseFrameReader', () => {
  const bodies = [4, 5, 17, 1024, 4, 70_000, 6 * 2 ** 20, 9, 300].map((n) => randomBytes(n));
  const stream = Buffer.concat(bodies.map(frame));

  it.each([
    ['one chunk', stream.length],
    ['64 KiB chunks', 65_536],
    ['chunks of 1 to 7 bytes', 7],
    ['chunks of up to 1 MiB', 2 ** 20],
  ])('gives back every frame from %s', (_what, maxChunk) => {
    const reader = new ResponseFrameReader(MAX_RESPONSE_BYTES);
    const chunks = maxChunk === stream.length ? [stream] : chunked(stream, maxChunk, maxChunk);
    const out = chunks.flatMap((c) => reader.push(c));
    expect(out.map((f) => f.length)).toEqual(bodies.map((b) => b.length));
    out.forEach((f, i) => expect(f.equals(bodies[i]!)).toBe(true));
  });

  it('returns a frame that sits inside one chunk as a view of it, without copying', () => {
    const chunk = Buffer.concat([frame(Buffer.from('abcdefgh')), frame(Buffer.from('ijkl'))]);
    const [a, b] = new ResponseFrameReader(1024).push(chunk);
    expect(a!.buffer).toBe(chunk.buffer);
    expect(b!.toString()).toBe('ijkl');
  });

  it.each([
    ['larger than the cap', 1025],
    ['negative', -1],
    ['too small to hold a correlation id', 3],
  ])('throws on a size %s', (_what, size) => {
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(size);
    const reader = new ResponseFrameReader(1024);
    // Split inside the prefix: the size is judged as soon as its four bytes are in.
    expect(reader.push(prefix.subarray(0, 2))).toEqual([]);
    expect(() => reader.push(prefix.subarray(2))).toThrow(`response frame size ${size} is outside [4, 1024]`);
  });
});
