import { describe, expect, it } from 'vitest';
import { KeyOffsetMap, OFFSET_MAP_SLOT_BYTES } from '../../../src/store/compaction/offset-map.js';

const key = (i: number): Buffer => Buffer.from(`sensor-${i}`);

describe('KeyOffsetMap', () => {
  it('keeps the latest offset per key', () => {
    const map = new KeyOffsetMap(1024 * OFFSET_MAP_SLOT_BYTES);
    for (let offset = 0; offset < 3000; offset++) expect(map.put(key(offset % 100), offset)).toBe(true);
    expect(map.size).toBe(100);
    for (let i = 0; i < 100; i++) expect(map.get(key(i))).toBe(2900 + i);
    expect(map.get(key(100))).toBe(-1);
    expect(map.get(Buffer.alloc(0))).toBe(-1);
    expect(map.latestOffset).toBe(2999);
  });

  it('holds a fixed number of keys: past its load factor it refuses new keys and still updates old ones', () => {
    const map = new KeyOffsetMap(100 * OFFSET_MAP_SLOT_BYTES, 0.9);
    expect(map.slots).toBe(100);
    let accepted = 0;
    for (let i = 0; i < 200; i++) if (map.put(key(i), i)) accepted++;
    expect(accepted).toBe(90);
    expect(map.full).toBe(true);
    expect(map.put(key(5), 1000)).toBe(true);
    expect(map.get(key(5))).toBe(1000);
    expect(map.get(key(150))).toBe(-1);
    expect(map.size).toBe(90);
  });

  it('probes past collisions in a nearly full table and finds every key', () => {
    const map = new KeyOffsetMap(1000 * OFFSET_MAP_SLOT_BYTES, 0.99);
    for (let i = 0; i < 990; i++) expect(map.put(key(i), i * 2)).toBe(true);
    for (let i = 0; i < 990; i++) expect(map.get(key(i))).toBe(i * 2);
    for (let i = 990; i < 1000; i++) expect(map.get(key(i))).toBe(-1);
  });

  it('clear empties it for the next pass', () => {
    const map = new KeyOffsetMap(10 * OFFSET_MAP_SLOT_BYTES);
    map.put(key(1), 7);
    map.clear();
    expect(map.size).toBe(0);
    expect(map.get(key(1))).toBe(-1);
    expect(map.latestOffset).toBe(-1);
  });

  it('refuses a buffer too small for one key', () => {
    expect(() => new KeyOffsetMap(OFFSET_MAP_SLOT_BYTES - 1)).toThrow(/holds no key/);
  });
});
