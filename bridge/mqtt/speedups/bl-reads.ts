/**
 * Speed-up `bl-reads`: reads from the first chunk of the `bl` BufferList mqtt-packet parses
 * with, without making a Buffer per read.
 *
 * mqtt-packet parses each connection's bytes out of a `bl` BufferList. bl implements `readUInt8(i)`
 * as `this.slice(i, i + 1).readUInt8(0)`, and every slice first finds its chunk as a new `[chunk,
 * offset]` array: a PUBLISH (header byte, remaining length, topic length, topic, packet id,
 * payload) costs about six Buffer views and as many arrays, garbage once read (figures in
 * BENCHMARKS.md, "MQTT bridge"). The parser consumes what it has parsed, so what it reads nearly
 * always lies in the list's first chunk; there these methods read the chunk directly, and otherwise
 * they call bl's own. The results are the same either way
 * (test/bridge/mqtt/speedups/bl-reads.test.ts).
 *
 * mqtt-packet's parser holds a `bl()` list, bl's stream class, whose prototype has BufferList's
 * methods copied onto it; that prototype is the one patched. What the reads rely on is checked
 * first: the five methods, and a list keeping its chunks in `_bufs` and its byte count in `length`.
 */
import type { InstalledLookup } from './installed.js';
import type { Misfit, Speedup } from './speedup.js';

/** The part of bl's BufferList these reads use. */
interface BufferList {
  _bufs: Buffer[];
  length: number;
}

type Read = (this: BufferList, ...args: never[]) => unknown;

/** The reads replaced, with the number of parameters bl's own declare (`offset = 0` counts none). */
const READS = { readUInt8: 0, readUInt16BE: 0, readUInt32BE: 0, slice: 2, toString: 3 } as const;

/** Marks a prototype that has the reads already (a second start in the same process). */
const APPLIED = Symbol.for('weir.mqtt.speedups.bl-reads');

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

interface ProbeList extends BufferList {
  append(chunk: Buffer): unknown;
  readUInt8(offset: number): number;
  readUInt16BE(offset: number): number;
  readUInt32BE(offset: number): number;
  slice(start: number, end: number): Buffer;
  toString(encoding: BufferEncoding, start: number, end: number): string;
}

interface BufferListStream {
  new (): ProbeList;
  prototype: object;
}

function methodsOf(List: BufferListStream): Record<string | symbol, unknown> {
  return List.prototype as Record<string | symbol, unknown>;
}

/** What a two-chunk list answers to reads inside, at the end of and across its first chunk. */
function probeReads(list: ProbeList): string {
  list.append(Buffer.from([0x30, 0x0c, 0x00, 0x04]));
  list.append(Buffer.from('t/1'));
  if (!Array.isArray(list._bufs) || list._bufs.length !== 2 || list.length !== 7) return 'no _bufs';
  return JSON.stringify([
    list.readUInt8(1), list.readUInt16BE(2), list.readUInt32BE(0), list.readUInt16BE(3),
    list.slice(1, 3).toString('hex'), list.slice(3, 6).toString('hex'), list.toString('utf8', 4, 7), list.toString('hex', 0, 2),
  ]);
}

/** Why `bl` is not the list these reads were written for, or undefined when it is. */
export function blMisfit(bl: unknown): Misfit | undefined {
  const shape = (reason: string): Misfit => ({ kind: 'shape', reason });
  if (typeof bl !== 'function') return shape(`bl's export is not its list class (${typeof bl})`);
  const List = bl as BufferListStream;
  for (const [method, arity] of Object.entries(READS)) {
    const read = methodsOf(List)[method];
    if (typeof read !== 'function') return shape(`bl's list has no ${method}`);
    if (read.length !== arity) return shape(`bl's ${method} declares ${read.length} parameters, not ${arity}`);
  }
  // The reads themselves, on a list of bl's own class and on one with them, must agree.
  class WithReads extends List {}
  readFromFirstChunk(methodsOf(WithReads));
  const own = probeReads(new List());
  if (own === 'no _bufs') return shape("bl's list does not keep its chunks in _bufs and its size in length");
  if (probeReads(new WithReads()) !== own) return shape("the reads from the first chunk do not give what bl's own give");
  return undefined;
}

export const blReads: Speedup = {
  name: 'bl-reads',
  // mqtt-packet: the shortcut pays because its parser consumes what it has parsed.
  requires: [{ name: 'bl', version: '6.1.6' }, { name: 'mqtt-packet', version: '9.0.2' }],
  apply(installed: InstalledLookup): Misfit | undefined {
    const bl = installed('bl').load();
    if (typeof bl === 'function' && methodsOf(bl as BufferListStream)[APPLIED] === true) return undefined;
    const misfit = blMisfit(bl);
    if (misfit !== undefined) return misfit;
    const proto = methodsOf(bl as BufferListStream);
    readFromFirstChunk(proto);
    proto[APPLIED] = true;
    return undefined;
  },
};
