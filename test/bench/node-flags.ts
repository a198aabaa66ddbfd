/**
 * The V8 flags the systemd unit runs Weir with (its `Environment=NODE_OPTIONS=` line), so that
 * benchmarks measure memory as deployed. Both sides of a comparison get the same flags.
 * BENCH_NODE_OPTIONS overrides them (e.g. "" for Node's defaults).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const UNIT = join(import.meta.dirname, '../../../systemd/weir.service');

export function unitNodeFlags(): string[] {
  const override = process.env['BENCH_NODE_OPTIONS'];
  if (override !== undefined) return override.split(/\s+/).filter(Boolean);
  // systemd quotes an assignment whose value has spaces: Environment="NODE_OPTIONS=a b".
  const match = /^Environment="?NODE_OPTIONS=([^"\n]*)"?$/m.exec(readFileSync(UNIT, 'utf8'));
  if (match === null) throw new Error(`${UNIT} has no Environment=NODE_OPTIONS= line`);
  return match[1]!.split(/\s+/).filter(Boolean);
}
