import { randomBytes } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { murmur2, partitionForKey, toPositive } from '../../../src/kafka/protocol/murmur2.js';
import { xxhash32 } from '../../../src/kafka/protocol/xxhash32.js';
import { kafkajsMurmur2 } from './kafkajs.js';

describe('murmur2 (Java Utils.murmur2)', () => {
  // org.apache.kafka.common.utils.UtilsTest#testMurmur2 (signed Java ints).
  const javaCases: Array<[string | Uint8Array, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
    // sarama's partitioner test, "generated offline using JVM Kafka client for version 1.0.0".
    [new Uint8Array([12, 42, 56, 24, 109, 111]), 274204207],
  ];
  it.each(javaCases)('murmur2(%s) = %i', (key, expected) => {
    expect(murmur2(typeof key === 'string' ? Buffer.from(key) : key)).toBe(expected);
  });

  it('toPositive clears the sign bit like Java (not Math.abs)', () => {
    expect(toPositive(-973932308)).toBe(1173551340);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(479470107)).toBe(479470107);
  });

  it('partitionForKey = toPositive(murmur2) % n', () => {
    // -58897971 & 0x7fffffff = 2088585677; % 12 = 5
    expect(partitionForKey(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'), 12)).toBe(2088585677 % 12);
    expect(partitionForKey(Buffer.from('21'), 1)).toBe(0);
    expect(() => partitionForKey(Buffer.from('x'), 0)).toThrow();
  });

  it("agrees with kafkajs's DefaultPartitioner murmur2 on 1000 random keys", () => {
    for (let i = 0; i < 1000; i++) {
      const key = randomBytes(i % 67);
      expect(murmur2(key)).toBe(kafkajsMurmur2(key));
    }
  });

  it('hashes the empty key like Java', () => {
    expect(murmur2(new Uint8Array(0))).toBe(kafkajsMurmur2(Buffer.alloc(0)));
  });
});

describe('xxhash32 (used by LZ4 frames)', () => {
  // Reference values from xxHash's own sanity tests / the XXH32 spec examples.
  it.each([
    ['', 0x02cc5d05],
    ['a', 0x550d7456],
    ['abc', 0x32d153ff],
    ['Nobody inspects the spammish repetition', 0xe2293b2f],
  ])('xxh32(%j) = %i', (input, expected) => {
    expect(xxhash32(Buffer.from(input))).toBe(expected);
  });
});
