/**
 * The 128-bit hash compaction keys its offset map by: MurmurHash3 x86_128 (Austin Appleby's
 * public-domain function, seed 0), written here with 32-bit integer arithmetic.
 *
 * Kafka's cleaner keys its map by an MD5 of the record key, 16 bytes, so that two keys sharing a
 * hash (which would make the cleaner drop the older key's latest value) is out of reach: with
 * 128 bits and millions of keys the chance is below 10^-25. MurmurHash3 gives the same width at a
 * fraction of the cost (node:crypto's MD5 costs microseconds per key in object churn, and
 * compaction hashes every key twice). It is not meant to resist crafted collisions, and need not:
 * a client able to write to a compacted topic can already overwrite or delete any key's value
 * by producing to it.
 */

/** The hash goes into `out[at..at+3]` as four uint32 lanes (h1, h2, h3, h4). */
export function hashKey(key: Uint8Array, out: Uint32Array, at: number): void {
  const len = key.length;
  const blocks = len >>> 4;
  let h1 = 0;
  let h2 = 0;
  let h3 = 0;
  let h4 = 0;
  let p = 0;
  for (let i = 0; i < blocks; i++, p += 16) {
    let k1 = read32(key, p);
    let k2 = read32(key, p + 4);
    let k3 = read32(key, p + 8);
    let k4 = read32(key, p + 12);
    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }
  // The tail: up to 15 bytes, little-endian into k1..k4 as the reference's fall-through switch.
  const rest = len & 15;
  if (rest > 12) h4 ^= Math.imul(rotl(Math.imul(readTail(key, p + 12, rest - 12), C4), 18), C1);
  if (rest > 8) h3 ^= Math.imul(rotl(Math.imul(readTail(key, p + 8, Math.min(rest - 8, 4)), C3), 17), C4);
  if (rest > 4) h2 ^= Math.imul(rotl(Math.imul(readTail(key, p + 4, Math.min(rest - 4, 4)), C2), 16), C3);
  if (rest > 0) h1 ^= Math.imul(rotl(Math.imul(readTail(key, p, Math.min(rest, 4)), C1), 15), C2);

  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  out[at] = h1;
  out[at + 1] = h2 + h1;
  out[at + 2] = h3 + h1;
  out[at + 3] = h4 + h1;
}

const C1 = 0x239b961b;
const C2 = 0xab0e9789 | 0;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93 | 0;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function read32(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
}

function readTail(b: Uint8Array, p: number, n: number): number {
  let k = 0;
  for (let i = n - 1; i >= 0; i--) k = (k << 8) | b[p + i]!;
  return k;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
