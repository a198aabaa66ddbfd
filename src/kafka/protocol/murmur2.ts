/**
 * Kafka's default partitioner hash: a port of Java's
 * `org.apache.kafka.common.utils.Utils.murmur2` (MurmurHash2, 32-bit, seed 0x9747b28c), which
 * `BuiltInPartitioner.partitionForKey` uses as `toPositive(murmur2(key)) % numPartitions`.
 * Records keyed here must land on the partition a Java producer would pick, so this follows the
 * Java code step for step: signed 32-bit arithmetic (Math.imul, `| 0`) and `>>>` for Java's `>>>`.
 */

import { WeirError } from '../../errors.js';

const SEED = 0x9747b28c | 0;
const M = 0x5bd1e995;
const R = 24;

/** Java's `Utils.murmur2(byte[])`: a signed 32-bit result. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // Java's tail is a switch on length % 4 falling through cases 3, 2, 1; tsconfig's
  // noFallthroughCasesInSwitch forbids that, so the same cascade is written as ifs.
  const tail = length & ~3;
  const rest = length & 3;
  if (rest >= 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Java's `Utils.toPositive`: clears the sign bit (not Math.abs, which differs for MIN_VALUE). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition Java's default partitioner assigns to a non-null key. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) {
    throw new WeirError('INVALID_ARGUMENT', `numPartitions ${numPartitions} must be a positive integer`);
  }
  return toPositive(murmur2(key)) % numPartitions;
}
