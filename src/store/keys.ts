/**
 * Binary keys of the batches and segments databases: partition id (uint32, big-endian) followed by
 * an offset (uint64, big-endian), so LMDB's byte order is (partition, offset) order and one range
 * scan walks one partition's log. Offsets are JS numbers: exact up to 2^53, far beyond any log a
 * gateway writes.
 */
export const LOG_KEY_BYTES = 12;
const TWO_32 = 2 ** 32;

export function logKey(partitionId: number, offset: number): Buffer {
  const key = Buffer.allocUnsafe(LOG_KEY_BYTES);
  key.writeUInt32BE(partitionId, 0);
  key.writeUInt32BE(Math.floor(offset / TWO_32), 4);
  key.writeUInt32BE(offset >>> 0, 8);
  return key;
}

export function offsetOfLogKey(key: Uint8Array): number {
  const view = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  return view.readUInt32BE(4) * TWO_32 + view.readUInt32BE(8);
}

/** The first key after every key of `partitionId`: the exclusive end of a whole-partition scan. */
export function partitionEndKey(partitionId: number): Buffer {
  return logKey(partitionId + 1, 0);
}
