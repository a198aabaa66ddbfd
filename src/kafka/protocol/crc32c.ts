/**
 * CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2 (KIP-98 chose it over the
 * CRC-32 of magic 0/1 because CPUs have an instruction for it).
 *
 * Reflected polynomial 0x82F63B78, initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF — the same
 * parameters as Java's `java.util.zip.CRC32C` and RFC 3720 (iSCSI) appendix B.4.
 *
 * This runs over every byte of every appended batch and every produced batch. Ranges of
 * NATIVE_MIN_BYTES or more go to @node-rs/crc32, which uses that instruction (SSE 4.2 on x86-64,
 * the CRC extension on ARMv8; prebuilt for Linux on x86-64, arm64 and 32-bit arm), several times
 * faster than the JavaScript below (figures in BENCHMARKS.md, "MQTT bridge"). Shorter ranges stay
 * in JavaScript, where a call costs less than crossing into native code. Where no prebuilt binary
 * loads, everything stays in JavaScript.
 *
 * The JavaScript uses "slicing-by-8" (Intel's technique, also used by zlib and Java's pure
 * fallback): eight 256-entry tables let the loop consume 8 input bytes per iteration with 8
 * independent lookups instead of 8 dependent ones. Tables are Int32Array so values stay small
 * integers in V8 (a Uint32Array element above 2^31 would be boxed as a double).
 */
import { createRequire } from 'node:module';
import { WeirError } from '../../errors.js';

/** Below this many bytes the JavaScript loop beats the call into native code (measured). */
const NATIVE_MIN_BYTES = 512;

type NativeCrc32c = (input: Uint8Array, initialState?: number) => number;

/** @node-rs/crc32's `crc32c(input, previous finished CRC)`, or undefined where it cannot load. */
export const nativeCrc32c: NativeCrc32c | undefined = loadNative();

function loadNative(): NativeCrc32c | undefined {
  try {
    return (createRequire(import.meta.url)('@node-rs/crc32') as { crc32c: NativeCrc32c }).crc32c;
  } catch {
    return undefined; // no prebuilt binary for this platform
  }
}

const POLY = 0x82f63b78;

/** TABLES[k][b]: CRC contribution of byte b followed by k zero bytes. */
const TABLES: Int32Array[] = buildTables();

function buildTables(): Int32Array[] {
  const t0 = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[n] = c;
  }
  const tables = [t0];
  for (let k = 1; k < 8; k++) {
    const prev = tables[k - 1]!;
    const t = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      const p = prev[n]!;
      t[n] = (p >>> 8) ^ t0[p & 0xff]!;
    }
    tables.push(t);
  }
  return tables;
}

const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [
  Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array,
];

/**
 * Continue a CRC-32C over `buf[start, end)`. `crc` is a previous *finished* value (0 to begin),
 * so `crc32cUpdate(crc32c(a), b) === crc32c(a ++ b)`.
 */
export function crc32cUpdate(crc: number, buf: Uint8Array, start = 0, end = buf.length): number {
  // Out-of-range reads would yield `undefined` and a silently wrong CRC, never an exception.
  if (start < 0 || end > buf.length || start > end) {
    throw new WeirError('INVALID_ARGUMENT', `crc32c range [${start}, ${end}) outside buffer of ${buf.length}`);
  }
  if (nativeCrc32c !== undefined && end - start >= NATIVE_MIN_BYTES) {
    return nativeCrc32c(start === 0 && end === buf.length ? buf : buf.subarray(start, end), crc);
  }
  return crc32cJs(crc, buf, start, end);
}

/** The JavaScript CRC-32C, exported so tests can hold the native path against it. */
export function crc32cJs(crc: number, buf: Uint8Array, start: number, end: number): number {
  let c = ~crc | 0;
  let i = start;
  const end8 = end - 8;
  while (i <= end8) {
    // The first four bytes fold into the running CRC; the last four are looked up on their own.
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    c =
      T7[c & 0xff]! ^
      T6[(c >>> 8) & 0xff]! ^
      T5[(c >>> 16) & 0xff]! ^
      T4[c >>> 24]! ^
      T3[buf[i + 4]!]! ^
      T2[buf[i + 5]!]! ^
      T1[buf[i + 6]!]! ^
      T0[buf[i + 7]!]!;
    i += 8;
  }
  while (i < end) c = (c >>> 8) ^ T0[(c ^ buf[i++]!) & 0xff]!;
  return ~c >>> 0;
}

/** CRC-32C of `buf[start, end)` as an unsigned 32-bit number. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  return crc32cUpdate(0, buf, start, end);
}
