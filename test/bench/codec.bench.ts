/**
 * Codec micro-benchmark: RecordBatch v2 encode/decode and the pure-JS codecs on MQTT-like
 * JSON payloads. Build then run: `npm run build && node dist/test/bench/codec.bench.js [rounds] [roundMs]`.
 * Scenarios are measured in interleaved rounds of CPU time and the median is printed, so JIT
 * warm-up, GC pauses and other processes do not favour whichever runs first. Compare codecs on one machine; the absolute
 * numbers depend on the CPU.
 */
import { createRequire } from 'node:module';
import { CompressionType, compress, decompress } from '../../src/kafka/protocol/compression.js';
import { crc32c } from '../../src/kafka/protocol/crc32c.js';
import { decodeRecordBatch, encodeRecordBatch, type RecordInput } from '../../src/kafka/protocol/record-batch.js';

const require = createRequire(import.meta.url);
const lz4js = require('lz4js') as { compress(b: Uint8Array): Uint8Array };
const kafkajsCrc = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (b: Buffer) => number;

const ROUNDS = Number(process.argv[2] ?? 7);
const ROUND_MS = Number(process.argv[3] ?? 250);

/** A sensor reading as JSON, padded with more numeric fields up to `size` bytes. */
function payload(i: number, size: number): Buffer {
  let s = `{"ts":${1700000000000 + i * 1000},"device":"pump-${i % 32}","temp":${(20 + (i % 70) / 10).toFixed(2)},"status":"ok","seq":${i}`;
  for (let f = 0; s.length < size - 1; f++) s += `,"f${f}":${(i * 31 + f * 7) % 1000}`;
  return Buffer.from(`${s.slice(0, size - 1)}}`);
}

function records(n: number, size: number): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`pump-${i % 32}`), value: payload(i, size), timestamp: 1700000000000 + i }));
}

interface Scenario {
  name: string;
  /** Units (records or bytes) processed per call. */
  units: number;
  unit: string;
  fn: () => unknown;
  samples: number[];
}

const scenarios: Scenario[] = [];
const add = (name: string, units: number, unit: string, fn: () => unknown): void => {
  scenarios.push({ name, units, unit, fn, samples: [] });
};

for (const size of [100, 1000]) {
  const batch = records(100, size);
  const section = encodeRecordBatch({ baseOffset: 0, records: batch }).subarray(61);
  for (const c of [CompressionType.None, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Gzip]) {
    const encoded = encodeRecordBatch({ baseOffset: 0, records: batch, compression: c });
    const label = `100x${size}B ${CompressionType[c]} (${encoded.length} B)`;
    add(`encode ${label}`, 100, 'rec/s', () => encodeRecordBatch({ baseOffset: 0, records: batch, compression: c }));
    add(`decode ${label}`, 100, 'rec/s', () => decodeRecordBatch(encoded));
  }
  const mb = section.length / 1e6;
  add(`compress ${section.length} B snappyjs`, mb, 'MB/s', () => compress(CompressionType.Snappy, section));
  add(`compress ${section.length} B weir lz4`, mb, 'MB/s', () => compress(CompressionType.Lz4, section));
  add(`compress ${section.length} B lz4js (reference only)`, mb, 'MB/s', () => lz4js.compress(section));
  const sn = compress(CompressionType.Snappy, section);
  const lz = compress(CompressionType.Lz4, section);
  add(`decompress ${section.length} B snappy`, mb, 'MB/s', () => decompress(CompressionType.Snappy, sn));
  add(`decompress ${section.length} B lz4`, mb, 'MB/s', () => decompress(CompressionType.Lz4, lz));
}
const big = Buffer.alloc(1 << 20, 7);
add('crc32c 1 MiB weir', 1.048576, 'MB/s', () => crc32c(big));
add('crc32c 1 MiB kafkajs', 1.048576, 'MB/s', () => kafkajsCrc(big));

for (const s of scenarios) for (let i = 0; i < 300; i++) s.fn(); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const s of scenarios) {
    // CPU time, not wall time: on a shared machine other processes' load would otherwise
    // dominate the comparison.
    let calls = 0;
    const start = process.cpuUsage();
    let used = 0;
    while (used < ROUND_MS * 1000) {
      for (let i = 0; i < 10; i++) s.fn();
      calls += 10;
      const d = process.cpuUsage(start);
      used = d.user + d.system;
    }
    s.samples.push((calls * s.units) / (used / 1e6));
  }
}
for (const s of scenarios) {
  const sorted = [...s.samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  console.log(`${s.name.padEnd(46)} ${Math.round(median).toLocaleString('en-US').padStart(12)} ${s.unit}`);
}
