/**
 * MQTT → log mapping rules: which log topic, key and headers an MQTT PUBLISH becomes.
 *
 * A rule's `filter` is an MQTT topic filter [MQTT-4.7.1] whose single-level positions may be
 * named captures, `{site}`, matching exactly one level like `+` does. `topic`, `key` and the
 * values of `headers` are templates over the captures and three built-ins: `{mqtt.topic}`,
 * `{mqtt.client_id}` and `{mqtt.username}`. Rules are tried in order and the first match wins.
 *
 * Kafka topic names allow only `[A-Za-z0-9._-]`, so a value substituted into a topic template
 * has `/` turned into `.` and any other illegal character into `_`; the template's literal text
 * must already be legal, which is checked when the config is loaded.
 */
import { yamlList, type FieldType, type ParseResult } from '../../src/config/types.js';
import { MAX_TOPIC_NAME_LENGTH } from '../../src/store/topic-config.js';

/** Built-in template variables, available in every rule. */
export const BUILTIN_VARS = ['mqtt.topic', 'mqtt.client_id', 'mqtt.username'] as const;

/** Header names Weir always sets; a capture may not reuse them. */
export const RESERVED_HEADERS = ['mqtt.topic', 'mqtt.qos', 'mqtt.client_id', 'mqtt.username', 'mqtt.retain'] as const;

export interface MappingRuleSpec {
  filter: string;
  topic: string;
  /** Absent or empty: a null key (Kafka's sticky partitioner picks the partition). */
  key?: string;
  headers?: Readonly<Record<string, string>>;
}

type Part = { readonly literal: string } | { readonly variable: string };

interface Template {
  readonly parts: readonly Part[];
  /** The rendered text when the template has no variables (rendered once, not per message). */
  readonly constant: string | undefined;
  /** The template is exactly `{mqtt.topic}`: its bytes are the topic's, which the caller may have. */
  readonly isMqttTopic: boolean;
}

type Level = { readonly literal: string } | { readonly capture: string | undefined } | { readonly rest: true };

export interface CompiledRule {
  readonly index: number;
  readonly spec: Readonly<MappingRuleSpec>;
  readonly levels: readonly Level[];
  readonly captures: readonly string[];
  readonly topic: Template;
  readonly key: Template | undefined;
  readonly headers: readonly { name: string; value: Template }[];
}

export interface MappingContext {
  topic: string;
  /** `topic` as UTF-8, when the caller has it anyway: a `{mqtt.topic}` key shares it. */
  topicBytes?: Buffer;
  clientId: string;
  username: string | undefined;
}

export interface Mapped {
  rule: number;
  topic: string;
  key: Buffer | null;
  /** Captures (as `mqtt.<name>`) and the rule's extra headers, in order. Do not modify: shared when empty. */
  headers: readonly { key: string; value: Buffer }[];
}

const NO_HEADERS: readonly { key: string; value: Buffer }[] = Object.freeze([]);

const CAPTURE_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LEGAL_TOPIC_TEXT = /^[a-zA-Z0-9._-]*$/;

/** The rule used for messages no configured rule matches, when `mqtt.unmatched` is `store`. */
export function defaultRule(logTopic: string): MappingRuleSpec {
  return { filter: '#', topic: logTopic, key: '{mqtt.topic}' };
}

function parseTemplate(text: string, vars: ReadonlySet<string>, where: string, problems: string[]): Template {
  const parts: Part[] = [];
  const re = /\{([^{}]*)\}|([^{}]+)|([{}])/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[3] !== undefined) {
      problems.push(`${where}: unbalanced "${m[3]}" in "${text}" (variables are written {name})`);
    } else if (m[1] !== undefined) {
      if (!vars.has(m[1])) {
        problems.push(`${where}: unknown variable {${m[1]}} in "${text}"; known: ${[...vars].map((v) => `{${v}}`).join(', ')}`);
      }
      parts.push({ variable: m[1] });
    } else parts.push({ literal: m[2]! });
  }
  const constant = parts.every((p) => 'literal' in p) ? parts.map((p) => ('literal' in p ? p.literal : '')).join('') : undefined;
  const only = parts.length === 1 ? parts[0]! : undefined;
  return { parts, constant, isMqttTopic: only !== undefined && 'variable' in only && only.variable === 'mqtt.topic' };
}

function parseFilter(filter: string, where: string, problems: string[]): { levels: Level[]; captures: string[] } {
  const levels: Level[] = [];
  const captures: string[] = [];
  const split = filter.split('/');
  split.forEach((level, i) => {
    if (level === '#') {
      // [MQTT-4.7.1-2] the multi-level wildcard must be the last level.
      if (i !== split.length - 1) problems.push(`${where}: "#" must be the last level of "${filter}"`);
      levels.push({ rest: true });
    } else if (level === '+') levels.push({ capture: undefined });
    else if (level.startsWith('{') && level.endsWith('}')) {
      const name = level.slice(1, -1);
      if (!CAPTURE_NAME.test(name)) problems.push(`${where}: capture {${name}} must be a name of letters, digits and _`);
      else if (captures.includes(name)) problems.push(`${where}: capture {${name}} appears twice`);
      else if ((RESERVED_HEADERS as readonly string[]).includes(`mqtt.${name}`)) {
        problems.push(`${where}: capture {${name}} would shadow the built-in header mqtt.${name}; rename it`);
      }
      captures.push(name);
      levels.push({ capture: name });
    } else if (/[+#{}]/.test(level)) {
      // [MQTT-4.7.1-3] wildcards occupy an entire level.
      problems.push(`${where}: level "${level}" of "${filter}" mixes a wildcard or capture with text; it must be a whole level`);
    } else levels.push({ literal: level });
  });
  if (filter === '') problems.push(`${where}: the filter is empty`);
  return { levels, captures };
}

/** Compiles and checks one rule; problems name the field, e.g. `rules[1].topic`. */
export function compileRule(spec: MappingRuleSpec, index: number, problems: string[]): CompiledRule {
  const at = `rules[${index}]`;
  const { levels, captures } = parseFilter(spec.filter, `${at}.filter`, problems);
  const vars = new Set<string>([...captures, ...BUILTIN_VARS]);
  const topic = parseTemplate(spec.topic, vars, `${at}.topic`, problems);
  for (const part of topic.parts) {
    if ('literal' in part && !LEGAL_TOPIC_TEXT.test(part.literal)) {
      problems.push(`${at}.topic: "${part.literal}" is not legal in a Kafka topic name (only letters, digits, ".", "_" and "-")`);
    }
  }
  if (spec.topic === '') problems.push(`${at}.topic: it is empty`);
  const key = spec.key === undefined || spec.key === '' ? undefined : parseTemplate(spec.key, vars, `${at}.key`, problems);
  const headers = Object.entries(spec.headers ?? {}).map(([name, value]) => {
    if ((RESERVED_HEADERS as readonly string[]).includes(name)) problems.push(`${at}.headers.${name}: this header is set by Weir itself`);
    return { name, value: parseTemplate(value, vars, `${at}.headers.${name}`, problems) };
  });
  return { index, spec: Object.freeze({ ...spec }), levels, captures, topic, key, headers };
}

/** What a rule without captures matches with: shared, never written to. */
const NO_CAPTURES: ReadonlyMap<string, string> = new Map();

/** Matches `topic` against a compiled filter; returns the named captures, or undefined. */
function match(rule: CompiledRule, topic: string): ReadonlyMap<string, string> | undefined {
  // [MQTT-4.7.2-1] a filter starting with a wildcard does not match topics starting with "$".
  if (topic.startsWith('$') && rule.levels[0] !== undefined && !('literal' in rule.levels[0])) return undefined;
  // The catch-all `#` (the default rule) matches every other topic: no split, nothing captured.
  if (rule.levels.length === 1 && 'rest' in rule.levels[0]!) return NO_CAPTURES;
  const levels = topic.split('/');
  const captures = rule.captures.length === 0 ? NO_CAPTURES : new Map<string, string>();
  for (let i = 0; i < rule.levels.length; i++) {
    const level = rule.levels[i]!;
    // "#" also matches the parent level itself: "a/#" matches "a" [MQTT-4.7.1-2].
    if ('rest' in level) return captures;
    const actual = levels[i];
    if (actual === undefined) return undefined;
    if ('literal' in level) {
      if (level.literal !== actual) return undefined;
    } else if (level.capture !== undefined) (captures as Map<string, string>).set(level.capture, actual);
  }
  return levels.length === rule.levels.length ? captures : undefined;
}

/** A template variable's value: a built-in or a capture (empty when it captured nothing). */
function lookup(name: string, ctx: MappingContext, captures: ReadonlyMap<string, string>): string {
  if (name === 'mqtt.topic') return ctx.topic;
  if (name === 'mqtt.client_id') return ctx.clientId;
  if (name === 'mqtt.username') return ctx.username ?? '';
  return captures.get(name) ?? '';
}

function render(template: Template, ctx: MappingContext, captures: ReadonlyMap<string, string>, sanitize: boolean): string {
  if (template.constant !== undefined) return template.constant;
  let out = '';
  for (const part of template.parts) {
    if ('literal' in part) out += part.literal;
    else {
      const value = lookup(part.variable, ctx, captures);
      out += sanitize ? value.replaceAll('/', '.').replace(/[^a-zA-Z0-9._-]/g, '_') : value;
    }
  }
  return out;
}

export class Mapper {
  readonly rules: readonly CompiledRule[];

  constructor(rules: readonly CompiledRule[]) {
    this.rules = rules;
  }

  /**
   * The first rule that matches and renders a legal topic name. A rendered name that is still
   * illegal (empty, `.`/`..`, too long) makes the message unmapped, like no match at all.
   */
  map(ctx: MappingContext): Mapped | undefined {
    for (const rule of this.rules) {
      const captures = match(rule, ctx.topic);
      if (captures === undefined) continue;
      const topic = render(rule.topic, ctx, captures, true);
      if (topic === '' || topic === '.' || topic === '..' || topic.length > MAX_TOPIC_NAME_LENGTH) return undefined;
      const key =
        rule.key === undefined
          ? null
          : rule.key.isMqttTopic && ctx.topicBytes !== undefined
            ? ctx.topicBytes
            : Buffer.from(render(rule.key, ctx, captures, false), 'utf8');
      // Most rules add no header: share one empty list rather than make one per message.
      if (captures.size === 0 && rule.headers.length === 0) return { rule: rule.index, topic, key, headers: NO_HEADERS };
      const headers: { key: string; value: Buffer }[] = [];
      for (const [name, value] of captures) headers.push({ key: `mqtt.${name}`, value: Buffer.from(value, 'utf8') });
      for (const h of rule.headers) headers.push({ key: h.name, value: Buffer.from(render(h.value, ctx, captures, false), 'utf8') });
      return { rule: rule.index, topic, key, headers };
    }
    return undefined;
  }
}

function isStringMap(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

/** Validates raw rules (from YAML, or a YAML/JSON string from the environment); every problem at once. */
export function parseRules(raw: unknown): ParseResult<CompiledRule[]> {
  const parsed = yamlList(raw, 'rules', 'a list of rules, each with filter, topic and optional key and headers');
  if (!parsed.ok) return parsed;
  const list = parsed.value;
  const problems: string[] = [];
  const rules: CompiledRule[] = [];
  list.forEach((item: unknown, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      problems.push(`rules[${i}]: expected a mapping with filter, topic, key, headers`);
      return;
    }
    const r = item as Record<string, unknown>;
    for (const k of Object.keys(r)) {
      if (!['filter', 'topic', 'key', 'headers'].includes(k)) problems.push(`rules[${i}].${k}: unknown field (a rule has filter, topic, key, headers)`);
    }
    if (typeof r.filter !== 'string') problems.push(`rules[${i}].filter: expected an MQTT topic filter such as sensors/{site}/{device}/#`);
    if (typeof r.topic !== 'string') problems.push(`rules[${i}].topic: expected a log topic template such as sensors.{site}`);
    if (r.key !== undefined && typeof r.key !== 'string') problems.push(`rules[${i}].key: expected a template string such as "{device}"`);
    if (r.headers !== undefined && !isStringMap(r.headers)) problems.push(`rules[${i}].headers: expected a mapping of header name to template string`);
    if (typeof r.filter !== 'string' || typeof r.topic !== 'string') return;
    const spec: MappingRuleSpec = { filter: r.filter, topic: r.topic };
    if (typeof r.key === 'string') spec.key = r.key;
    if (isStringMap(r.headers)) spec.headers = r.headers;
    rules.push(compileRule(spec, i, problems));
  });
  return problems.length > 0 ? { ok: false, why: problems.join('; ') } : { ok: true, value: rules };
}

/** The config field type for `mqtt.rules`. */
export function mappingRules(): FieldType<CompiledRule[]> {
  return {
    name: 'list of rules',
    accepts: 'a list of {filter, topic, key, headers} rules (in the environment: the same list as YAML or JSON)',
    parse: (raw) => parseRules(raw),
  };
}

/** The config field type for a log topic name (Kafka's naming rules). */
export function logTopicName(): FieldType<string> {
  const accepts = `a Kafka topic name: 1 to ${MAX_TOPIC_NAME_LENGTH} of letters, digits, ".", "_" and "-"`;
  return {
    name: 'topic name',
    accepts,
    parse(raw) {
      if (typeof raw !== 'string') return { ok: false, why: `expected ${accepts}` };
      const s = raw.trim();
      const legal = s !== '' && s !== '.' && s !== '..' && s.length <= MAX_TOPIC_NAME_LENGTH && LEGAL_TOPIC_TEXT.test(s);
      return legal ? { ok: true, value: s } : { ok: false, why: `expected ${accepts}` };
    },
  };
}
