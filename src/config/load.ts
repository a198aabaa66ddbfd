/**
 * Loads Weir's configuration once, at start: schema defaults, overlaid by the YAML file,
 * overlaid by WEIR_<SECTION>__<FIELD> environment variables. Every problem is collected and
 * reported in one CONFIG_INVALID error, so an operator fixes them all in one edit; the result is
 * deep-frozen (the fastify pattern: validate once, then trust).
 *
 * This module (with the schema's systemd STATE_DIRECTORY default) is the only code in Weir that
 * looks at the process environment; everything else receives the typed config.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, isMap, isNode, isScalar, parseDocument, type Document, type YAMLMap } from 'yaml';
import { WeirError } from '../errors.js';
import { CROSS_CHECKS, FIELDS, SECTIONS, rawDefault, type FieldEntry, type WeirConfig } from './schema.js';
import { suggest } from './suggest.js';

export interface LoadConfigOptions {
  /** YAML config file; relative to `cwd`. Without it, defaults and environment only. */
  file?: string;
  /** Defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Directory relative paths are resolved against. Defaults to `process.cwd()`. */
  cwd?: string;
}

export interface ConfigProblem {
  /** The field's dotted path, or the environment variable's name. */
  field: string;
  value: unknown;
  why: string;
  fix: string;
  /** Where the value came from: `weir.yaml:3:8`, `env WEIR_STORE__DIR`, or `default`. */
  source: string;
}

interface Setting {
  value: unknown;
  source: string;
}

const BY_PATH = new Map(FIELDS.map((f) => [f.path, f]));
const BY_ENV = new Map(FIELDS.map((f) => [f.env, f]));
const ENV_PREFIX = 'WEIR_';

export function loadConfig(options: LoadConfigOptions = {}): WeirConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = options.file === undefined ? undefined : path.resolve(cwd, options.file);
  const problems: ConfigProblem[] = [];
  const settings = new Map<string, Setting>();

  if (file !== undefined) readFileSettings(file, settings, problems);
  readEnvSettings(env, settings, problems);

  const out: Record<string, Record<string, unknown>> = {};
  for (const section of SECTIONS) out[section] = {};
  for (const entry of FIELDS) {
    const setting = settings.get(entry.path);
    const raw = setting === undefined ? rawDefault(entry, env) : setting.value;
    const source = setting?.source ?? 'default';
    if (raw === null || raw === undefined) {
      problems.push(problem(entry, raw, 'no value is given', source));
      continue;
    }
    const result = entry.spec.type.parse(raw, { cwd });
    if (result.ok) out[entry.section]![entry.key] = result.value;
    else problems.push(problem(entry, raw, result.why, source));
  }
  // Only on fields that all parsed: a check across them reads their values.
  if (problems.length === 0) {
    for (const cross of CROSS_CHECKS) {
      const entry = BY_PATH.get(cross.field)!;
      const setting = settings.get(cross.field);
      for (const { why, fix } of cross.check(out)) {
        problems.push({ ...problem(entry, setting?.value ?? rawDefault(entry, env), why, setting?.source ?? 'default'), fix });
      }
    }
  }

  if (problems.length > 0) {
    problems.sort((a, b) => sourceOrder(a.source) - sourceOrder(b.source));
    throw new WeirError('CONFIG_INVALID', formatProblems(problems, file), { details: { file, problems } });
  }
  return deepFreeze(out) as unknown as WeirConfig;
}

/** File problems in line order, then environment ones, then bad defaults. */
function sourceOrder(source: string): number {
  const m = /:(\d+):(\d+)$/.exec(source);
  if (m !== null) return Number(m[1]) * 10_000 + Number(m[2]);
  return source === 'default' ? Number.MAX_SAFE_INTEGER : Number.MAX_SAFE_INTEGER - 1;
}

function problem(entry: FieldEntry, value: unknown, why: string, source: string): ConfigProblem {
  return { field: entry.path, value: entry.spec.secret === true ? '[redacted]' : value, why, fix: entry.spec.fix, source };
}

function readFileSettings(file: string, settings: Map<string, Setting>, problems: ConfigProblem[]): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : String(err);
    throw new WeirError('CONFIG_UNREADABLE', `cannot read config file ${file}: ${why}`, { cause: err, details: { file } });
  }

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const where = (offset: number | undefined): string => {
    const pos = lineCounter.linePos(offset ?? 0);
    return `${path.basename(file)}:${pos.line}:${pos.col}`;
  };
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return `line ${pos.line}, column ${pos.col}: ${e.message}`;
    });
    throw new WeirError('CONFIG_UNREADABLE', `cannot parse config file ${file} as YAML: ${lines.join('; ')}`, {
      cause: doc.errors[0],
      details: { file, errors: lines },
    });
  }

  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return; // empty file: all defaults
  if (!isMap(root)) {
    problems.push({
      field: '(file)', value: root.toJS(doc), why: 'the file must be a mapping of sections',
      fix: `Write sections such as "store:" at the top level (see weir.example.yaml).`, source: where(root.range?.[0]),
    });
    return;
  }
  for (const pair of root.items) {
    const sectionName = keyOf(pair.key);
    const source = where(isNode(pair.key) ? pair.key.range?.[0] : undefined);
    if (sectionName === undefined || !SECTIONS.includes(sectionName)) {
      const near = sectionName === undefined ? undefined : suggest(sectionName, SECTIONS);
      problems.push({
        field: sectionName ?? '(key)', value: toJS(doc, pair.value), why: 'unknown section',
        fix: near !== undefined ? `Did you mean "${near}"?` : `Remove it; the sections are ${SECTIONS.join(', ')}.`, source,
      });
      continue;
    }
    const value = pair.value;
    if (value === null || (isScalar(value) && value.value === null)) continue; // "store:" with every field commented out
    if (!isMap(value)) {
      problems.push({
        field: sectionName, value: toJS(doc, value), why: 'a section must be a mapping of fields',
        fix: `Indent the fields of ${sectionName} under it, one "key: value" per line.`, source,
      });
      continue;
    }
    readSection(doc, value, sectionName, '', where, settings, problems);
  }
}

/**
 * Reads the fields of one section. Keys may be written dotted (`retention.ms: 1000`) or nested
 * (`retention: { ms: 1000 }`); both name the field `topic_defaults.retention.ms`.
 */
function readSection(
  doc: Document, map: YAMLMap, section: string, prefix: string, where: (offset: number | undefined) => string,
  settings: Map<string, Setting>, problems: ConfigProblem[],
): void {
  for (const pair of map.items) {
    const key = keyOf(pair.key);
    const source = where(isNode(pair.key) ? pair.key.range?.[0] : undefined);
    const dotted = `${section}.${prefix}${key ?? '?'}`;
    const entry = BY_PATH.get(dotted);
    if (key !== undefined && entry !== undefined) {
      const value = toJS(doc, pair.value);
      const earlier = settings.get(dotted);
      if (earlier !== undefined) {
        problems.push({ ...problem(entry, value, `it is set twice (also at ${earlier.source})`, source), fix: 'Keep one of them.' });
      }
      settings.set(dotted, { value, source });
      continue;
    }
    if (key !== undefined && isMap(pair.value) && FIELDS.some((f) => f.path.startsWith(`${dotted}.`))) {
      readSection(doc, pair.value, section, `${prefix}${key}.`, where, settings, problems);
      continue;
    }
    const near = suggest(dotted, FIELDS.map((f) => f.path));
    const sectionFields = FIELDS.filter((f) => f.section === section).map((f) => f.key);
    problems.push({
      field: dotted, value: toJS(doc, pair.value), why: 'unknown field',
      fix: near !== undefined ? `Did you mean "${near}"?` : `Remove it; the fields of ${section} are ${sectionFields.join(', ')}.`,
      source,
    });
  }
}

function keyOf(key: unknown): string | undefined {
  if (isScalar(key) && (typeof key.value === 'string' || typeof key.value === 'number')) return String(key.value);
  return undefined;
}

function toJS(doc: Document, node: unknown): unknown {
  return isNode(node) ? node.toJS(doc) : node;
}

function readEnvSettings(env: NodeJS.ProcessEnv, settings: Map<string, Setting>, problems: ConfigProblem[]): void {
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const entry = BY_ENV.get(name);
    if (entry === undefined) {
      const near = suggest(name, [...BY_ENV.keys()]);
      problems.push({
        field: name, value, why: 'unknown environment override',
        fix: near !== undefined ? `Did you mean ${near}?` : 'Unset it; overrides are WEIR_<SECTION>__<FIELD> for the fields listed in the README.',
        source: 'environment',
      });
      continue;
    }
    settings.set(entry.path, { value, source: `env ${name}` });
  }
}

function formatValue(value: unknown): string {
  const s = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** One line per problem: `<field>: <value> is invalid — <why>. Fix: <what to do> [<source>]`. */
export function formatProblem(p: ConfigProblem): string {
  const why = p.why.replace(/\.$/, '');
  return `${p.field}: ${formatValue(p.value)} is invalid — ${why}. Fix: ${p.fix} [${p.source}]`;
}

function formatProblems(problems: ConfigProblem[], file: string | undefined): string {
  const n = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const head = `invalid configuration${file === undefined ? '' : ` in ${file}`} (${n}):`;
  return [head, ...problems.map((p) => `  - ${formatProblem(p)}`)].join('\n');
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The effective config as a plain object for logs and status pages, secret fields redacted. */
export function redactedConfig(config: WeirConfig): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  const sections = config as unknown as Record<string, Record<string, unknown>>;
  for (const entry of FIELDS) {
    out[entry.section] ??= {};
    out[entry.section]![entry.key] = entry.spec.secret === true ? '[redacted]' : sections[entry.section]?.[entry.key];
  }
  return out;
}
