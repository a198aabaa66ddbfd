/**
 * One config field's description (type, default, doc, fix) and the helper that keeps its type
 * parameter. Shared by the schema (./schema.ts) and the sections that live next to the code they
 * configure (bridge/mqtt, src/kafka/server, bridge/mirror).
 */
import type { FieldType } from './types.js';

/** A raw value as it would appear in the file: it goes through the field's parser like any other. */
export type RawDefault = string | number | boolean;

export interface FieldSpec<T> {
  readonly type: FieldType<T>;
  /** The default, written as an operator would write it; computed defaults get the environment. */
  readonly default: RawDefault | ((env: NodeJS.ProcessEnv) => RawDefault);
  /** How a computed default reads in the docs. */
  readonly defaultDoc?: string;
  /** One line for the reference table and the example file. */
  readonly doc: string;
  /** What to do when the value is invalid. */
  readonly fix: string;
  /** Never logged or printed: replaced by "[redacted]" in config summaries. */
  readonly secret?: boolean;
}

/**
 * A check across fields, run once every field has parsed: each problem is reported on `field`
 * (its value and file position), with a fix of its own.
 */
export interface CrossCheck {
  readonly field: string;
  readonly check: (config: Readonly<Record<string, Readonly<Record<string, unknown>>>>) => { why: string; fix: string }[];
}

export function field<T>(spec: FieldSpec<T>): FieldSpec<T> {
  return spec;
}

export const MiB = 2 ** 20;
export const GiB = 2 ** 30;
