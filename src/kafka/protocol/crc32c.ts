/**
 * CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2 (KIP-98 chose it over the
 * CRC-32 of magic 0/1 because CPUs have an instruction for it; in JS we have no such luck).
 *
 * Reflected polynomial 0x82F63B78, initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF — the same
 * parameters as Java's `java.util.zip.CRC32C` and RFC 3720 (iSCSI) appendix B.4.
 *
 * This runs over every byte of every appended batch, so it uses "slicing-by-8"
 * (Intel's technique, also used by zlib and Java's pure fallback): eight 256-entry tables let
 * the loop consume 8 input bytes per iteration with 8 independent lookups instead of 8
 * dependent ones. Tables are Int32Array so values stay small integers in V8 (a Uint32Array
 * element above 2^31 would be boxed as a double).
 */

import { WeirError } from '../../errors.js';

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
