import { describe, expect, it } from 'vitest';
import { isWeirError } from '../../../src/errors.js';
import { FrameDecoder } from '../../../src/kafka/server/frame-decoder.js';

function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

const bodies = [Buffer.alloc(10, 1), Buffer.alloc(300, 2), Buffer.alloc(11, 3), Buffer.alloc(70_000, 4)];
const stream = Buffer.concat(bodies.map(frame));

describe('FrameDecoder', () => {
  it('splits merged frames from one chunk', () => {
    const out = new FrameDecoder(1 << 20).push(stream);
    expect(out.map((b) => b.toString("hex"))).toEqual(bodies.map((b) => b.toString("hex")));
  });

  it('reassembles frames split at every byte, including inside the size prefix', () => {
    const d = new FrameDecoder(1 << 20);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...d.push(stream.subarray(i, i + 1)));
    expect(out.map((b) => b.toString("hex"))).toEqual(bodies.map((b) => b.toString("hex")));
    expect(d.pendingBytes).toBe(0);
  });

  it('handles random chunkings', () => {
    for (let seed = 1; seed < 50; seed++) {
      let x = seed;
      const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const d = new FrameDecoder(1 << 20);
      const out: Buffer[] = [];
      let pos = 0;
      while (pos < stream.length) {
        const n = 1 + Math.floor(rand() * 500);
        out.push(...d.push(stream.subarray(pos, pos + n)));
        pos += n;
      }
      expect(out.map((b) => b.toString("hex"))).toEqual(bodies.map((b) => b.toString("hex")));
    }
  });

  it('rejects sizes that are negative, too small or above the cap as soon as the prefix is in', () => {
    for (const size of [-1, 0, 9, 1025, 0x7fffffff]) {
      const d = new FrameDecoder(1024);
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(size, 0);
      let err: unknown;
      try {
        d.push(prefix.subarray(0, 2));
        d.push(prefix.subarray(2));
      } catch (e) {
        err = e;
      }
      expect(isWeirError(err, 'CORRUPT_MESSAGE'), `size ${size}`).toBe(true);
    }
  });
});
