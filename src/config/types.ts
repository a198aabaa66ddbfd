/**
 * Value types for config fields. Each type turns a raw value — a YAML scalar from the config
 * file, or the string of a WEIR_* environment variable — into a typed value, or says why it
 * cannot. Types never throw: the loader collects every problem and reports them all at once.
 *
 * `accepts` is the human description used both in "expected …" messages and in the README's
 * configuration reference, so the two cannot disagree.
 */
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { TOPIC_CONFIG_SPECS, type TopicConfig, type TopicConfigName } from '../store/topic-config.js';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; why: string };

/**
 * A list field (mapping rules, the ACL, mirror upstreams and rules): the list as the YAML file
 * gives it, or a YAML (or JSON) string from a WEIR_* variable; absent or empty is an empty list.
 * `what` names the field in a YAML error; `expected` follows "expected " when it is no list.
 */
export function yamlList(raw: unknown, what: string, expected: string): ParseResult<unknown[]> {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = parseYaml(raw);
    } catch (err) {
      return { ok: false, why: `cannot parse the ${what} as YAML: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
  if (value === null || value === undefined || value === '') return { ok: true, value: [] };
  if (!Array.isArray(value)) return { ok: false, why: `expected ${expected}` };
  return { ok: true, value };
}

export interface ParseContext {
  /** Directory that relative paths are resolved against. */
  cwd: string;
}

export interface FieldType<T> {
  /** Short name shown in the reference table, with constraints: `int (1–1000)`, `bytes-size`. */
  readonly name: string;
  /** What values are accepted, as a phrase: "an integer from 1 to 1000". */
  readonly accepts: string;
  parse(raw: unknown, ctx: ParseContext): ParseResult<T>;
}

const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
const fail = (why: string): ParseResult<never> => ({ ok: false, why });

function range(min: number, max: number): string {
  return max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `${min}–${max}`;
}

/** Accepts a YAML integer or a string of digits (environment variables are always strings). */
function toInteger(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw : undefined;
  if (typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw)) {
    const n = Number(raw);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

/**
 * A number field: `read` turns the raw value into a number (undefined: it is none), which must be
 * from `min` to `max`; both refusals quote `accepts`.
 */
function boundedNumber(name: string, accepts: string, min: number, max: number, read: (raw: unknown) => number | undefined): FieldType<number> {
  return {
    name,
    accepts,
    parse(raw) {
      const n = read(raw);
      if (n === undefined) return fail(`expected ${accepts}`);
      if (n < min || n > max) return fail(`out of range: expected ${accepts}`);
      return ok(n);
    },
  };
}

export function int(min: number, max: number = Number.MAX_SAFE_INTEGER): FieldType<number> {
  const accepts = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
  return boundedNumber(`int (${range(min, max)})`, accepts, min, max, toInteger);
}

/** Accepts a YAML number or a string of digits with an optional fraction: `2`, `0.5`. */
export function decimal(min: number, max: number): FieldType<number> {
  const accepts = `a number from ${min} to ${max} (a fraction is fine, e.g. 0.5)`;
  return boundedNumber(`number (${min}–${max})`, accepts, min, max, (raw) => {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+(?:\.\d+)?\s*$/.test(raw) ? Number(raw) : Number.NaN;
    return Number.isFinite(n) ? n : undefined;
  });
}

// Decimal units are powers of 1000 and binary units powers of 1024, as in IEC 80000-13;
// a bare number is bytes. Unit letters are case-insensitive except that the "i" marks binary.
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
};
const SIZE_RE = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/;

/** Parses `2GiB`, `500MB`, `1.5 GiB`, `1048576` to whole bytes (fractions round down). */
export function parseByteSize(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw >= 0 ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  const m = SIZE_RE.exec(raw);
  if (m === null) return undefined;
  const unit = m[2] === '' ? 1 : SIZE_UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const n = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(n) ? n : undefined;
}

export function formatBytes(n: number): string {
  for (const [unit, size] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  return `${n}`;
}

export function bytesSize(min: number, max: number = Number.MAX_SAFE_INTEGER): FieldType<number> {
  const bounds = max === Number.MAX_SAFE_INTEGER ? `at least ${formatBytes(min)}` : `from ${formatBytes(min)} to ${formatBytes(max)}`;
  const accepts = `a size in bytes ${bounds}: an integer or a number with a unit (KiB, MiB, GiB, TiB, or KB, MB, GB, TB), e.g. 64MiB`;
  const name = `bytes-size (${max === Number.MAX_SAFE_INTEGER ? `≥ ${formatBytes(min)}` : `${formatBytes(min)}–${formatBytes(max)}`})`;
  return boundedNumber(name, accepts, min, max, parseByteSize);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/;

/** Parses `5000`, `5s`, `1.5m`, `7d` to whole milliseconds (a bare number is milliseconds). */
export function parseDurationMs(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw >= 0 ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  const m = DURATION_RE.exec(raw);
  if (m === null) return undefined;
  const n = Math.floor(Number(m[1]) * DURATION_UNITS[m[2] ?? 'ms']!);
  return Number.isSafeInteger(n) ? n : undefined;
}

export function durationMs(min: number, max: number = Number.MAX_SAFE_INTEGER): FieldType<number> {
  const bounds = max === Number.MAX_SAFE_INTEGER ? `at least ${min} ms` : `from ${min} to ${max} ms`;
  const accepts = `a duration ${bounds}: milliseconds, or a number with a unit (ms, s, m, h, d), e.g. 5s`;
  return boundedNumber(`duration-ms (${range(min, max)})`, accepts, min, max, parseDurationMs);
}

export function bool(): FieldType<boolean> {
  return {
    name: 'bool',
    accepts: 'true or false',
    parse(raw) {
      if (typeof raw === 'boolean') return ok(raw);
      if (typeof raw === 'string' && /^\s*(true|false)\s*$/i.test(raw)) return ok(raw.trim().toLowerCase() === 'true');
      return fail('expected true or false');
    },
  };
}

export function enumOf<const T extends string>(values: readonly T[]): FieldType<T> {
  const accepts = `one of ${values.join(', ')}`;
  return {
    name: `enum (${values.join(' | ')})`,
    accepts,
    parse(raw) {
      const s = typeof raw === 'string' ? raw.trim() : undefined;
      return s !== undefined && (values as readonly string[]).includes(s) ? ok(s as T) : fail(`expected ${accepts}`);
    },
  };
}

/** Wraps a type so that the string `auto` is accepted too (resolved later, at start). */
export function orAuto<T>(inner: FieldType<T>): FieldType<T | 'auto'> {
  return {
    name: `auto | ${inner.name}`,
    accepts: `auto, or ${inner.accepts}`,
    parse(raw, ctx) {
      if (typeof raw === 'string' && raw.trim() === 'auto') return ok('auto');
      const r = inner.parse(raw, ctx);
      return r.ok ? r : fail(`expected auto, or ${inner.accepts}`);
    },
  };
}

export function nonEmptyString(): FieldType<string> {
  return {
    name: 'string',
    accepts: 'a non-empty string',
    parse(raw) {
      if (typeof raw !== 'string' && typeof raw !== 'number') return fail('expected a non-empty string');
      const s = String(raw);
      return s.trim() === '' ? fail('it is empty') : ok(s);
    },
  };
}

/** A filesystem path; a relative one is resolved against the working directory Weir starts in. */
export function dirPath(): FieldType<string> {
  return {
    name: 'path',
    accepts: 'a directory path (relative paths are resolved against the working directory)',
    parse(raw, ctx) {
      if (typeof raw !== 'string' || raw.trim() === '') return fail('expected a non-empty directory path');
      if (raw.includes('\0')) return fail('it contains a NUL byte');
      return ok(path.resolve(ctx.cwd, raw));
    },
  };
}

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port`, `[ipv6]:port`; port 0 asks the OS for a free port (tests use it). */
export function hostPort(): FieldType<HostPort> {
  const accepts = 'host:port, e.g. 127.0.0.1:1883 or [::1]:1883 (port 0–65535)';
  return {
    name: 'host:port',
    accepts,
    parse(raw) {
      if (typeof raw !== 'string') return fail(`expected ${accepts}`);
      const m = /^\s*(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})\s*$/.exec(raw);
      const port = m === null ? NaN : Number(m[3]);
      if (m === null || port > 65535) return fail(`expected ${accepts}`);
      return ok({ host: m[1] ?? m[2]!, port });
    },
  };
}

/** host:port, or "" for a listener that is off. */
export function optionalHostPort(): FieldType<HostPort | ''> {
  const inner = hostPort();
  return {
    name: `"" | ${inner.name}`,
    accepts: `"" (off), or ${inner.accepts}`,
    parse(raw, ctx) {
      if (raw === '' || raw === null) return ok('');
      const r = inner.parse(raw, ctx);
      return r.ok ? r : fail(`expected "" (off), or ${inner.accepts}`);
    },
  };
}

/** A file path, or "" for none (relative paths are resolved against the working directory). */
export function optionalFilePath(): FieldType<string> {
  return {
    name: 'path | ""',
    accepts: 'a file path (relative paths are resolved against the working directory), or "" for none',
    parse(raw, ctx) {
      if (raw === '' || raw === null) return ok('');
      if (typeof raw !== 'string' || raw.includes('\0')) return fail('expected a file path, or "" for none');
      return ok(path.resolve(ctx.cwd, raw));
    },
  };
}

/**
 * A per-topic config with its Kafka name, parsed by the store's own TOPIC_CONFIG_SPECS so the
 * config file, `weir topics create --config` and (later) the Kafka admin APIs validate alike.
 */
export function topicConfig<K extends TopicConfigName>(name: K): FieldType<TopicConfig[K]> {
  const spec = TOPIC_CONFIG_SPECS[name];
  return {
    name: /^-?\d+$/.test(spec.kafkaDefault) ? 'int (topic config)' : /^\d*\.\d+$/.test(spec.kafkaDefault) ? 'number (topic config)' : 'string (topic config)',
    accepts: `a valid ${name} value`,
    parse(raw) {
      if (typeof raw !== 'string' && typeof raw !== 'number') return fail(`expected a valid ${name} value`);
      try {
        return ok(spec.parse(String(raw).trim()) as TopicConfig[K]);
      } catch (err) {
        // The spec's message reads "<name>=<value> is invalid: <why>"; keep only the why, since
        // the loader prints the field and value itself.
        const message = err instanceof Error ? err.message : String(err);
        return fail(message.replace(/^.*? is invalid: /, ''));
      }
    },
  };
}
