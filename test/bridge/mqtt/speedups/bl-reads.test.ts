/**
 * The BufferList reads mqtt-packet parses with (bridge/mqtt/speedups/bl-reads.ts) give what bl's
 * own give, for every position and chunk layout, and take the shortcut they exist for. The
 * speed-up patches the bl that mqtt-packet resolves: a parser fed the same bytes, cut at the same
 * places, parses the same packets with and without it. A bl of another shape is left alone.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { blMisfit, readFromFirstChunk } from '../../../../bridge/mqtt/speedups/bl-reads.js';

interface BufferListInstance {
  _bufs: Buffer[];
  length: number;
  append(buf: Buffer): void;
  consume(bytes: number): void;
  [method: string]: unknown;
}
type BufferListClass = new () => BufferListInstance;

const fromMqttPacket = createRequire(createRequire(import.meta.url).resolve('mqtt-packet'));
const BufferList = fromMqttPacket('bl').BufferList as BufferListClass;
/** bl's class with the patched reads on a prototype of its own; bl itself stays as it is. */
class PatchedList extends BufferList {}
readFromFirstChunk(PatchedList.prototype as unknown as Record<string, unknown>);

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function outcome(list: BufferListInstance, method: string, args: unknown[]): unknown {
  try {
    const value = (list[method] as (...a: unknown[]) => unknown).apply(list, args);
    return Buffer.isBuffer(value) ? { bytes: value.toString('hex') } : { value };
  } catch (err) {
    return { threw: (err as { code?: string }).code ?? (err as Error).name };
  }
}

describe('BufferList reads from the first chunk', () => {
  it('return what bl returns (or throw what it throws) for positions in, across and outside the chunks', () => {
    const next = random(42);
    const text = Buffer.from('sensors/ü/€/𝄞/temp', 'utf8'); // multi-byte UTF-8, for toString
    let compared = 0;
    for (let round = 0; round < 300; round++) {
      const plain = new BufferList();
      const patched = new PatchedList();
      const chunks = 1 + Math.floor(next() * 4);
      for (let c = 0; c < chunks; c++) {
        const size = Math.floor(next() * 24);
        const chunk = next() < 0.3 ? text.subarray(0, Math.min(size, text.length)) : Buffer.from(Array.from({ length: size }, () => Math.floor(next() * 256)));
        plain.append(chunk);
        patched.append(chunk);
      }
      const skip = Math.floor(next() * 5); // the parser consumes as it goes
      plain.consume(skip);
      patched.consume(skip);
      // (No fractional positions: bl's own slice across chunks then returns uninitialized bytes.)
      const positions = [undefined, -3, -1, 0, 1, 2, plain.length - 4, plain.length - 2, plain.length - 1, plain.length, plain.length + 1, Math.floor(next() * (plain.length + 2))];
      for (const a of positions) {
        for (const method of ['readUInt8', 'readUInt16BE', 'readUInt32BE']) {
          expect(outcome(patched, method, [a]), `${method}(${a}) round ${round}`).toEqual(outcome(plain, method, [a]));
          compared++;
        }
        for (const b of positions) {
          expect(outcome(patched, 'slice', [a, b]), `slice(${a}, ${b}) round ${round}`).toEqual(outcome(plain, 'slice', [a, b]));
          for (const encoding of ['utf8', 'hex', undefined]) {
            expect(outcome(patched, 'toString', [encoding, a, b]), `toString(${encoding}, ${a}, ${b}) round ${round}`).toEqual(outcome(plain, 'toString', [encoding, a, b]));
          }
          compared += 4;
        }
      }
    }
    expect(compared).toBeGreaterThan(50_000);
  });

  it('reads inside the first chunk without slicing the list', () => {
    const list = new PatchedList() as BufferListInstance & {
      readUInt8(offset: number): number;
      readUInt16BE(offset: number): number;
      readUInt32BE(offset: number): number;
      toString(encoding: string, start: number, end: number): string;
    };
    list.append(Buffer.from([0x30, 0x0c, 0x00, 0x04, 0x74, 0x2f, 0x31, 0x32]));
    list.append(Buffer.from([0xff]));
    list.slice = () => {
      throw new Error('sliced');
    };
    expect(list.readUInt8(1)).toBe(0x0c);
    expect(list.readUInt16BE(2)).toBe(4);
    expect(list.readUInt32BE(4)).toBe(0x742f3132);
    expect(list.toString('utf8', 4, 8)).toBe('t/12');
    expect(() => list.readUInt16BE(7)).toThrow('sliced'); // across chunks: bl's own read, which slices
  });
});

describe('the bl-reads speed-up', () => {
  const SPEEDUPS = fileURLToPath(new URL('../../../../dist/bridge/mqtt/speedups/index.js', import.meta.url));
  const BL_READS = fileURLToPath(new URL('../../../../dist/bridge/mqtt/speedups/bl-reads.js', import.meta.url));

  /**
   * Parses the same PUBLISH, CONNECT and SUBSCRIBE bytes, cut at the same pseudo-random places,
   * in a fresh node process; prints whether mqtt-packet's bl is patched and a digest of every
   * packet parsed.
   */
  function parseAll(patch: boolean): { patched: boolean; packets: number; digest: string } {
    const script = `
      if (${patch}) {
        const { applyMqttSpeedups } = await import(${JSON.stringify(SPEEDUPS)});
        const { blReads } = await import(${JSON.stringify(BL_READS)});
        const outcomes = applyMqttSpeedups(undefined, [blReads, blReads]); // a second start finds it applied
        if (outcomes.some(({ skipped: whyNotApplied }) => whyNotApplied !== undefined)) throw new Error(JSON.stringify(outcomes));
      }
      const { createRequire } = await import('node:module');
      const { createHash } = await import('node:crypto');
      const fromMqttPacket = createRequire(createRequire(import.meta.dirname + '/').resolve('mqtt-packet'));
      const mqttPacket = fromMqttPacket('mqtt-packet');
      const bl = fromMqttPacket('bl');
      let seed = 7;
      const next = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
      const packets = [{ cmd: 'connect', clientId: 'sensor-ü', keepalive: 30, username: 'u', password: Buffer.from('p'), will: { topic: 'w/1', payload: Buffer.from('bye'), qos: 1, retain: false } }];
      for (let i = 0; i < 400; i++) {
        const topic = 'sensors/' + 'x'.repeat(Math.floor(next() * 300)) + '/€/' + i;
        const payload = Buffer.alloc(Math.floor(next() * 3000), i % 256);
        const qos = i % 3;
        packets.push({ cmd: 'publish', topic, payload, qos, retain: i % 5 === 0, dup: false, ...(qos > 0 ? { messageId: 1 + i } : {}) });
        if (i % 50 === 0) packets.push({ cmd: 'subscribe', messageId: 9000 + i, subscriptions: [{ topic: 'a/+/#', qos: 1 }] });
      }
      const wire = Buffer.concat(packets.map((p) => mqttPacket.generate(p)));
      const parser = mqttPacket.parser();
      const hash = createHash('sha256');
      let count = 0;
      parser.on('packet', (p) => { count++; hash.update(JSON.stringify(p, (k, v) => (v && v.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v))); });
      parser.on('error', (err) => { console.log('error ' + err.message); process.exit(1); });
      for (let at = 0; at < wire.length; ) { const n = 1 + Math.floor(next() * 700); parser.parse(wire.subarray(at, at + n)); at += n; }
      console.log(JSON.stringify({ patched: bl.prototype.readUInt8 !== bl.BufferList.prototype.readUInt8, packets: count, digest: hash.digest('hex') }));
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../../../../node_modules/aedes/', import.meta.url)),
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(`node exited ${run.status}: ${run.stdout}${run.stderr}`);
    return JSON.parse(run.stdout) as { patched: boolean; packets: number; digest: string };
  }

  it('patches the bl mqtt-packet parses with, and the parser parses the same packets as without it', () => {
    const without = parseAll(false);
    const withReads = parseAll(true);
    expect(without.patched).toBe(false);
    expect(withReads.patched).toBe(true);
    expect(withReads.packets).toBe(409);
    expect(withReads).toEqual({ ...without, patched: true });
  });

  it('leaves a bl of another shape alone, saying why', () => {
    class NoBufs {
      length = 0;
      readUInt8(): number { return 0; }
      readUInt16BE(): number { return 0; }
      readUInt32BE(): number { return 0; }
      slice(_start?: number, _end?: number): Buffer { return Buffer.alloc(0); }
      toString(_encoding?: string, _start?: number, _end?: number): string { return ''; }
      append(chunk: Buffer): void { this.length += chunk.length; }
    }
    const noReads = function () {} as unknown as { prototype: Record<string, unknown> };
    expect(blMisfit({})).toEqual({ kind: 'shape', reason: "bl's export is not its list class (object)" });
    expect(blMisfit(noReads)).toEqual({ kind: 'shape', reason: "bl's list has no readUInt8" });
    expect(blMisfit(NoBufs)).toEqual({ kind: 'shape', reason: "bl's list does not keep its chunks in _bufs and its size in length" });
    expect(blMisfit(fromMqttPacket('bl'))).toBeUndefined();
  });
});
