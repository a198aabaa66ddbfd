/** Loads the golden fixtures in test/fixtures/record-batch (see make-fixtures.py there). */
import { readFileSync } from 'node:fs';

const DIR = new URL('../../fixtures/record-batch/', import.meta.url);

/** A .hex fixture: `#` comment lines, then hex digits with any whitespace. */
export function loadHex(name: string): Buffer {
  const text = readFileSync(new URL(`${name}.hex`, DIR), 'utf8');
  const hex = text
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('')
    .replace(/\s+/g, '');
  return Buffer.from(hex, 'hex');
}

export interface ExpectedRecord {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Array<[string, string | null]>;
}

export function loadExpected(name: 'small-records' | 'big-records'): ExpectedRecord[] {
  return JSON.parse(readFileSync(new URL(`${name}.json`, DIR), 'utf8')) as ExpectedRecord[];
}
