/**
 * How the systemd unit runs Weir, so that benchmarks measure memory and speed as deployed: the V8
 * flags of its `Environment=NODE_OPTIONS=` line, and its other `Environment=` assignments (such as
 * `MALLOC_ARENA_MAX`). Both sides of a comparison get the same of each.
 * BENCH_NODE_OPTIONS overrides the flags (e.g. "" for Node's defaults); BENCH_UNIT_ENV overrides
 * the environment ("K=V,K=V"; "" for none).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envList } from './env-list.js';

const UNIT = join(import.meta.dirname, '../../../systemd/weir.service');

/** A unit's `Environment=` assignments in order; systemd quotes one whose value has spaces. */
export function environmentOfUnit(unitText: string): [string, string][] {
  return unitText
    .split('\n')
    .map((line) => /^Environment="?([A-Za-z_][A-Za-z0-9_]*)=([^"]*)"?$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!]);
}

function unitFileEnvironment(): [string, string][] {
  return environmentOfUnit(readFileSync(UNIT, 'utf8'));
}

export function unitNodeFlags(): string[] {
  const override = process.env['BENCH_NODE_OPTIONS'];
  if (override !== undefined) return override.split(/\s+/).filter(Boolean);
  const value = unitFileEnvironment().find(([name]) => name === 'NODE_OPTIONS')?.[1];
  if (value === undefined) throw new Error(`${UNIT} has no Environment=NODE_OPTIONS= line`);
  return value.split(/\s+/).filter(Boolean);
}

/** Every other `Environment=` of the unit, for the environment of a benchmarked process. */
export function unitEnvironment(): Record<string, string> {
  const override = process.env['BENCH_UNIT_ENV'];
  if (override !== undefined) return envList(override, 'BENCH_UNIT_ENV');
  return Object.fromEntries(unitFileEnvironment().filter(([name]) => name !== 'NODE_OPTIONS'));
}
