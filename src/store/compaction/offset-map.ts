/**
 * Key → latest offset, in a fixed amount of memory: the compaction's dedupe buffer (Kafka's
 * `SkimpyOffsetMap`). Each slot holds a key's 128-bit hash (key-hash.ts) and the offset of its
 * latest record seen so far, 24 bytes, in two typed arrays allocated once; collisions probe
 * linearly. The map never grows: it reports `full` once it holds `loadFactor` of its slots, and
 * the compaction then cleans up to the last offset it mapped and leaves the rest for the next
 * pass, which is how a partition with more keys than fit is compacted in several passes, in
 * memory bounded by configuration rather than by the number of keys.
 */
import { hashKey } from './key-hash.js';

/** Bytes per slot: four uint32 hash lanes and one float64 offset. */
export const OFFSET_MAP_SLOT_BYTES = 24;
/** Kafka's `log.cleaner.io.buffer.load.factor` default: past it, probes get long. */
const DEFAULT_LOAD_FACTOR = 0.9;
const EMPTY = -1;

export class KeyOffsetMap {
  readonly slots: number;
  private readonly hashes: Uint32Array;
  private readonly offsets: Float64Array;
  private readonly limit: number;
  private entries = 0;
  /** The hash of the key being looked up, reused (no allocation per key). */
  private readonly probe = new Uint32Array(4);
  private largest = -1;

  constructor(bufferBytes: number, loadFactor = DEFAULT_LOAD_FACTOR) {
    this.slots = Math.floor(bufferBytes / OFFSET_MAP_SLOT_BYTES);
    if (this.slots < 1) throw new RangeError(`a compaction buffer of ${bufferBytes} bytes holds no key (${OFFSET_MAP_SLOT_BYTES} bytes each)`);
    this.hashes = new Uint32Array(this.slots * 4);
    this.offsets = new Float64Array(this.slots).fill(EMPTY);
    this.limit = Math.max(1, Math.floor(this.slots * loadFactor));
  }

  /** Keys held. */
  get size(): number {
    return this.entries;
  }

  /** No room for another key (an update of a key already held still fits). */
  get full(): boolean {
    return this.entries >= this.limit;
  }

  /** The largest offset put since the last clear, -1 if none. */
  get latestOffset(): number {
    return this.largest;
  }

  /**
   * Records `offset` as `key`'s latest. Returns false, changing nothing, when the key is new and
   * the map is full.
   */
  put(key: Uint8Array, offset: number): boolean {
    const slot = this.find(key);
    if (this.offsets[slot] === EMPTY) {
      if (this.full) return false;
      this.hashes.set(this.probe, slot * 4);
      this.entries++;
    }
    this.offsets[slot] = offset;
    if (offset > this.largest) this.largest = offset;
    return true;
  }

  /** The latest offset put for `key`, or -1. */
  get(key: Uint8Array): number {
    return this.offsets[this.find(key)]!;
  }

  clear(): void {
    this.offsets.fill(EMPTY);
    this.entries = 0;
    this.largest = -1;
  }

  /** The slot holding `key`'s hash, or the empty slot where it would go. */
  private find(key: Uint8Array): number {
    const probe = this.probe;
    hashKey(key, probe, 0);
    const hashes = this.hashes;
    let slot = probe[0]! % this.slots;
    for (;;) {
      if (this.offsets[slot] === EMPTY) return slot;
      const at = slot * 4;
      if (hashes[at] === probe[0] && hashes[at + 1] === probe[1] && hashes[at + 2] === probe[2] && hashes[at + 3] === probe[3]) return slot;
      slot = slot + 1 === this.slots ? 0 : slot + 1;
    }
  }
}
