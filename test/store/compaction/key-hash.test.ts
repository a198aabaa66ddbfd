import { describe, expect, it } from 'vitest';
import { hashKey } from '../../../src/store/compaction/key-hash.js';

/** Lanes h1..h4 in hex without padding, concatenated: how the published vectors below are written. */
function hex(key: string): string {
  const out = new Uint32Array(4);
  hashKey(Buffer.from(key, 'utf8'), out, 0);
  return Array.from(out, (h) => h.toString(16)).join('');
}

describe('hashKey (MurmurHash3 x86_128, seed 0)', () => {
  // Reference vectors of MurmurHash3_x86_128 (from the smhasher implementation), one per tail
  // length 0..15 and a few with whole 16-byte blocks, multi-byte UTF-8 included.
  it.each([
    ['', '0000'],
    ['H', 'f69feb5df45637a0f45637a0f45637a0'],
    ['He', '47f82b373b8fc7283b8fc7283b8fc728'],
    ['Hel', '7b0cd2cdcc2b995ccc2b995ccc2b995c'],
    ['Hell', '7f771597e65bee6ae65bee6ae65bee6a'],
    ['Hello', '2360ae465e6336c6ad45b3f4ad45b3f4'],
    ['Hello ', '497dc9d9b73bad59a57b7235a57b7235'],
    ['Hello W', '3d021fe8d111dc31b6345ff3b6345ff3'],
    ['Hello Wo', 'db37ce0fe9a99ae0da8c411bda8c411b'],
    ['Hello Wor', '107e2665706ff8b8eb00bf34e910bf63'],
    ['Hello Worl', '2444bd95337fb2193d57dfac56dfdf0c'],
    ['Hello World', '92cafa6a59653c6540fffff0b3beb9c'],
    ['Hello World!', '6bee9883eb1be4f59dfb7172ae3fbea9'],
    ['Hello World! ', 'c85c2fe13e579f88205695c8120178a3'],
    ['Hello World! H', 'aaadb4452b35ce375a481289ecaa84fe'],
    ['Hello World! He', '784f7f08ab145b43cf27d08dc5413b50'],
    ['Hello World! Hel', '82475db0161f88d8850474822a76794a'],
    ['Hello World! Hell', 'a0cf95de87e61640ad45f08dc508c90a'],
    ['Hello World! Hello World! Hello World!', '97c20b59c7de4e21bf270576dcfc2f'],
    ['メロス', 'dcfa2df52a3c5ab9d74d6d304e537d23'],
    ['メロスは激怒した。', 'd518bf44b2ced5f96d0e4a3c89c5230a'],
  ])('%j', (key, expected) => {
    expect(hex(key)).toBe(expected);
  });

  it('writes at the given position and nowhere else', () => {
    const out = new Uint32Array(12).fill(7);
    hashKey(Buffer.from('Hello'), out, 4);
    expect(Array.from(out.subarray(0, 4))).toEqual([7, 7, 7, 7]);
    expect(Array.from(out.subarray(8))).toEqual([7, 7, 7, 7]);
    expect(out[4]!.toString(16)).toBe('2360ae46');
  });
});
