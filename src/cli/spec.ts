/**
 * How a `weir` command is declared: its flags, help text and examples live next to its code, and
 * both `util.parseArgs` options and the help screen are derived from the same declaration, so
 * help cannot list a flag the parser does not know (or miss one it does).
 */
import { parseArgs } from 'node:util';
import { WeirError } from '../errors.js';
import { suggest } from '../config/suggest.js';
import { wrapWords } from '../config/wrap.js';

export interface CliContext {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** The environment, for WEIR_* config overrides. */
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Ends the process at once. Only the `start` command uses it, for a second SIGINT/SIGTERM. */
  exit(code: number): never;
}

export interface OptionSpec {
  /** Long name without dashes: `topic` for `--topic`. */
  name: string;
  short?: string;
  type: 'string' | 'boolean';
  multiple?: boolean;
  /** Shown after the flag in help: `NAME`, `N`, `KEY=VALUE`. */
  placeholder?: string;
  doc: string;
  /** Default, as help shows it. */
  defaultDoc?: string;
  required?: boolean;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandSpec {
  /** Words after `weir`: `['topics', 'create']`. */
  path: readonly string[];
  summary: string;
  /** Paragraphs after the usage line. */
  description: readonly string[];
  options: readonly OptionSpec[];
  examples: readonly string[];
  run(values: OptionValues, ctx: CliContext): Promise<number>;
}

const HELP_OPTION: OptionSpec = { name: 'help', short: 'h', type: 'boolean', doc: 'Show this help.' };

export function commandName(spec: Pick<CommandSpec, 'path'>): string {
  return ['weir', ...spec.path].join(' ');
}

function usageError(message: string, spec: Pick<CommandSpec, 'path'>): WeirError {
  return new WeirError('USAGE', message, { details: { command: commandName(spec) } });
}

/**
 * Weir's YAML config file is `--config FILE` on every command (as `weir start` and `weir doctor`
 * have always taken it), and `--config-file FILE` is another name for it: a command declaring one
 * accepts the other. `topics create` and `topics alter` are the exception: there `--config
 * KEY=VALUE` is a topic config, as in kafka-topics.sh, so only `--config-file` names the file.
 */
export function effectiveOptions(spec: Pick<CommandSpec, 'options'>): OptionSpec[] {
  const config = spec.options.find((o) => o.name === 'config');
  const file = spec.options.find((o) => o.name === 'config-file');
  if (config !== undefined && file === undefined && config.multiple !== true) {
    return [...spec.options, { name: 'config-file', type: 'string', placeholder: 'FILE', doc: 'Another name for --config.' }];
  }
  if (config === undefined && file !== undefined) {
    return spec.options.flatMap((o) => (o === file ? [{ ...file, name: 'config' }, { name: 'config-file', type: 'string', placeholder: 'FILE', doc: 'Another name for --config.' } satisfies OptionSpec] : [o]));
  }
  return [...spec.options];
}

/** `--config` and `--config-file` as one value, under both names, so a command may read either. */
function mergeConfigFile(spec: CommandSpec, values: OptionValues, options: readonly OptionSpec[]): void {
  const config = options.find((o) => o.name === 'config');
  if (config === undefined || config.multiple === true || !options.some((o) => o.name === 'config-file')) return;
  const a = values.config;
  const b = values['config-file'];
  if (a !== undefined && b !== undefined) throw usageError('give the config file once: --config-file is another name for --config', spec);
  values.config = a ?? b;
  values['config-file'] = a ?? b;
}

/** Parses a command's arguments; `undefined` means help was asked for. */
export function parseCommandArgs(spec: CommandSpec, args: string[]): OptionValues | undefined {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  const declared = effectiveOptions(spec);
  for (const o of [...declared, HELP_OPTION]) {
    options[o.name] = { type: o.type, ...(o.short === undefined ? {} : { short: o.short }), ...(o.multiple === true ? { multiple: true } : {}) };
  }
  let values: OptionValues;
  try {
    values = parseArgs({ args, options, strict: true, allowPositionals: false }).values as OptionValues;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const firstLine = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'([^']+)'/.exec(firstLine)?.[1] ?? '';
      const near = suggest(flag.replace(/^-+/, '').replace(/=.*/, ''), declared.map((o) => o.name));
      throw usageError(`unknown option '${flag}' for '${commandName(spec)}'${near === undefined ? '' : ` (did you mean --${near}?)`}`, spec);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const arg = /'([^']+)'/.exec(firstLine)?.[1] ?? '';
      throw usageError(`unexpected argument '${arg}': '${commandName(spec)}' takes only --flags`, spec);
    }
    throw usageError(firstLine.replace(/\.$/, ''), spec);
  }
  if (values.help === true) return undefined;
  mergeConfigFile(spec, values, declared);
  for (const o of declared) {
    if (o.required === true && values[o.name] === undefined) {
      throw usageError(`missing --${o.name}${o.placeholder === undefined ? '' : ` ${o.placeholder}`}`, spec);
    }
  }
  return values;
}

/** A string flag's value, or undefined. */
export function stringValue(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function listValue(values: OptionValues, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** `--partitions N` and friends: a whole number in range, or a usage error naming the flag. */
export function intValue(values: OptionValues, name: string, min: number, max: number, spec: Pick<CommandSpec, 'path'>): number | undefined {
  const v = stringValue(values, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < min || n > max) {
    throw usageError(`--${name} ${v} is invalid: expected a whole number from ${min} to ${max}`, spec);
  }
  return n;
}

/** Repeated `--config key=value` flags as a record; a missing `=` or a key given twice is a usage error. */
export function keyValues(values: OptionValues, name: string, spec: Pick<CommandSpec, 'path'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of listValue(values, name)) {
    const eq = entry.indexOf('=');
    if (eq <= 0) {
      // `--config weir.yaml` on `topics create`/`alter`, where --config is a topic config as in kafka-topics.sh.
      const file = name === 'config' ? '; Weir\'s config file is --config-file FILE on this command' : '';
      throw usageError(`--${name} ${entry} is invalid: expected KEY=VALUE, e.g. --${name} retention.ms=86400000${file}`, spec);
    }
    const key = entry.slice(0, eq).trim();
    if (Object.hasOwn(out, key)) throw usageError(`--${name} ${key} is given twice`, spec);
    out[key] = entry.slice(eq + 1).trim();
  }
  return out;
}

function flagLabel(o: OptionSpec): string {
  const long = `--${o.name}${o.placeholder === undefined ? '' : ` ${o.placeholder}`}`;
  return o.short === undefined ? `    ${long}` : `-${o.short}, ${long}`;
}

/** `text` wrapped to fit in `width` columns after `indent` of them. */
export function indentWrap(text: string, indent: number, width = 100): string[] {
  return wrapWords(text, width - indent);
}

/** Two-column list: labels padded, descriptions wrapped under each other. */
export function columns(rows: readonly (readonly [string, string])[], indent = 2): string[] {
  const width = Math.min(30, Math.max(...rows.map(([label]) => label.length)) + 2);
  const out: string[] = [];
  for (const [label, text] of rows) {
    const wrapped = indentWrap(text, indent + width);
    const pad = ' '.repeat(indent + width);
    if (label.length + 2 > width) {
      out.push(`${' '.repeat(indent)}${label}`, ...wrapped.map((l) => `${pad}${l}`));
    } else {
      out.push(`${' '.repeat(indent)}${label.padEnd(width)}${wrapped[0] ?? ''}`, ...wrapped.slice(1).map((l) => `${pad}${l}`));
    }
  }
  return out;
}

export function renderCommandHelp(spec: CommandSpec): string {
  const options = effectiveOptions(spec);
  const required = options.filter((o) => o.required === true).map((o) => `--${o.name} ${o.placeholder ?? ''}`.trim());
  const usage = [commandName(spec), ...required, ...(options.some((o) => o.required !== true) ? ['[options]'] : [])].join(' ');
  const optionRows = [...options, HELP_OPTION].map((o) => {
    const notes = [o.required === true ? 'Required.' : '', o.multiple === true ? 'Repeatable.' : '', o.defaultDoc === undefined ? '' : `Default: ${o.defaultDoc}.`];
    return [flagLabel(o), [o.doc, ...notes].filter((s) => s !== '').join(' ')] as const;
  });
  return [
    `Usage: ${usage}`,
    '',
    ...spec.description.flatMap((p) => [...indentWrap(p, 0), '']),
    'Options:',
    ...columns(optionRows),
    '',
    spec.examples.length === 1 ? 'Example:' : 'Examples:',
    ...spec.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}

