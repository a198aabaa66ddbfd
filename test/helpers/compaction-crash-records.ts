/**
 * The records of the compaction crash test: many values per key, deterministic, so the parent can
 * check any record it finds byte for byte, acknowledged or not. A value names its key and the
 * append that wrote it (`<run>.<worker>.<seq>`), then pads to a size that varies with both, so
 * batches and segments roll at different places every run.
 */
export const COMPACTED_TOPIC = 'compacted';
export const COMPACTED_PARTITIONS = 2;
/** Segments roll every 16 KiB; a partition is due as soon as it has a dirty closed segment. */
export const COMPACTED_TOPIC_CONFIGS = { 'cleanup.policy': 'compact', 'segment.bytes': '16384', 'min.cleanable.dirty.ratio': '0.01' };

export function compactionKey(keyIndex: number): Buffer {
  return Buffer.from(`key-${keyIndex}`);
}

/** Keys are spread over the partitions by index, so the parent knows where each key lives. */
export function partitionOfKey(keyIndex: number): number {
  return keyIndex % COMPACTED_PARTITIONS;
}

/** 40 B to ~2 KB. */
export function compactionValue(keyIndex: number, append: string): Buffer {
  const head = `${keyIndex}|${append}|`;
  let size = keyIndex;
  for (let i = 0; i < append.length; i++) size = (size * 31 + append.charCodeAt(i)) >>> 0;
  return Buffer.concat([Buffer.from(head), Buffer.alloc(20 + (size % 2000), 0x61 + (size % 26))]);
}

/** The key index and append a value names, or undefined when it is not one compactionValue makes. */
export function parseCompactionValue(value: Buffer): { keyIndex: number; append: string } | undefined {
  const [keyText, append] = value.subarray(0, 64).toString('latin1').split('|');
  const keyIndex = Number(keyText);
  if (append === undefined || !Number.isInteger(keyIndex)) return undefined;
  return compactionValue(keyIndex, append).equals(value) ? { keyIndex, append } : undefined;
}
