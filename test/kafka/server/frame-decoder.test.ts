import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

  it('reserves a frame when its size is read; when refused, holds the rest of the chunk and reads on at retry', () => {
    let room = 0;
    const reserved: number[] = [];
    const d = new FrameDecoder(1 << 20, (n) => {
      if (n > room) return false;
      reserved.push(n);
      return true;
    });
    expect(d.push(stream.subarray(0, 20))).toEqual([]);
    expect(d.blocked).toBe(true);
    expect(d.reservedBytes).toBe(0);
    expect(d.push(stream.subarray(20, 30))).toEqual([]);
    room = 1 << 20;
    const first = d.retry();
    expect(first.map((b) => b.toString('hex'))).toEqual([bodies[0]!.toString('hex')]);
    expect(d.reservedBytes).toBe(300);
    const rest = d.push(stream.subarray(30));
    expect(rest.map((b) => b.toString('hex'))).toEqual(bodies.slice(1).map((b) => b.toString('hex')));
    expect(reserved).toEqual(bodies.map((b) => b.length));
    expect(d.blocked).toBe(false);
  });

  it('a frame sent one byte per chunk is held in one buffer, not one object per byte', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const size = 200_000;
    const d = new FrameDecoder(1 << 20);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(size, 0);
    for (const byte of prefix) d.push(Buffer.from([byte]));
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < size - 1; i++) d.push(Buffer.from([i & 0xff]));
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    // A list of 200k one-byte Buffers costs tens of MB of heap.
    expect(grown).toBeLessThan(2 * 1024 * 1024);
    const [frame] = d.push(Buffer.from([0xff]));
    expect(frame!.length).toBe(size);
    expect(frame![size - 2]).toBe((size - 2) & 0xff);
  });
});
