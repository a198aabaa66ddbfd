/** The records of the compaction memory test (compaction-bulk-writer.ts writes them, the test checks them). */

/** The key of the last record, in the active segment on its own. */
export const BULK_LAST_KEY = 'last';

export function bulkKey(keyIndex: number): Buffer {
  return Buffer.from(`k${keyIndex}`);
}

/** Value `version` of key `keyIndex`: names both, so a reader can tell which one it got. */
export function bulkValue(keyIndex: number, version: number): Buffer {
  return Buffer.from(`${keyIndex}:v${version}`);
}
