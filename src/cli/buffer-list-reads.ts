/**
 * Reads from the first chunk of a `bl` BufferList without making a Buffer per read.
 *
 * mqtt-packet parses each connection's bytes out of a `bl` BufferList. bl implements
 * `readUInt8(i)` as `this.slice(i, i + 1).readUInt8(0)`, and every slice first finds its chunk as
 * a new `[chunk, offset]` array: a PUBLISH (header byte, remaining length, topic length, topic,
 * packet id, payload) costs about six Buffer views and as many arrays, ~900 bytes of garbage per
 * message, measured (BENCHMARKS.md). The parser consumes what it has parsed, so what it reads
 * nearly always lies in the list's first chunk; there these methods read the chunk directly, and
 * otherwise they call bl's own. The results are the same either way (test/cli/buffer-list-reads).
 */

/** The part of bl's BufferList these reads use. */
interface BufferList {
  _bufs: Buffer[];
  length: number;
}

type Read = (this: BufferList, ...args: never[]) => unknown;

/** A non-negative integer position: anything else goes to bl's own method. */
function isIndex(n: unknown): n is number {
  return typeof n === 'number' && n >= 0 && (n | 0) === n;
}

/** Overrides the reads mqtt-packet uses on `proto`, falling back to the ones it has. */
export function readFromFirstChunk(proto: Record<string, unknown>): void {
  const original = {
    readUInt8: proto.readUInt8 as Read,
    readUInt16BE: proto.readUInt16BE as Read,
    readUInt32BE: proto.readUInt32BE as Read,
    slice: proto.slice as Read,
    toString: proto['toString'] as Read,
  };
  Object.assign(proto, {
    readUInt8(this: BufferList, offset = 0): unknown {
      const first = this._bufs[0];
      if (first !== undefined && isIndex(offset) && offset < first.length) return first[offset];
      return original.readUInt8.call(this, offset as never);
    },
    readUInt16BE(this: BufferList, offset = 0): unknown {
      const first = this._bufs[0];
      if (first !== undefined && isIndex(offset) && offset + 2 <= first.length) return first.readUInt16BE(offset);
      return original.readUInt16BE.call(this, offset as never);
    },
    readUInt32BE(this: BufferList, offset = 0): unknown {
      const first = this._bufs[0];
      if (first !== undefined && isIndex(offset) && offset + 4 <= first.length) return first.readUInt32BE(offset);
      return original.readUInt32BE.call(this, offset as never);
    },
    // bl returns the chunk itself for the whole of a one-chunk list; that case stays with bl.
    slice(this: BufferList, start?: unknown, end?: unknown): unknown {
      const first = this._bufs[0];
      if (first !== undefined && isIndex(start) && isIndex(end) && start < end && end <= first.length && !(start === 0 && end === this.length)) {
        return first.subarray(start, end);
      }
      return original.slice.call(this, start as never, end as never);
    },
    toString(this: BufferList, encoding?: unknown, start?: unknown, end?: unknown): unknown {
      const first = this._bufs[0];
      if (first !== undefined && isIndex(start) && isIndex(end) && start <= end && end <= first.length && (encoding === undefined || Buffer.isEncoding(encoding as string))) {
        return first.toString(encoding as BufferEncoding | undefined, start, end);
      }
      return original.toString.call(this, encoding as never, start as never, end as never);
    },
  });
}
