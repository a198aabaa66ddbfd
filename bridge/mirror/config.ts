/**
 * The mirror's configuration: the `mirror.upstreams` and `mirror.rules` lists (YAML, or the same
 * list as YAML/JSON in WEIR_MIRROR__UPSTREAMS / WEIR_MIRROR__RULES), parsed and checked once at
 * load time with every problem reported together, like `mqtt.rules`.
 *
 * A rule names the local topics it mirrors (exact names, globs with `*` and `?`, or a regular
 * expression written `/…/`), the upstream it sends them to and the upstream topic, a template over
 * `{device}` (device.id) and `{topic}` (the local topic name).
 */
import path from 'node:path';
import { suggest } from '../../src/config/suggest.js';
import { parseByteSize, parseDurationMs, yamlList, type FieldType, type ParseContext, type ParseResult } from '../../src/config/types.js';
import { MAX_TOPIC_NAME_LENGTH } from '../../src/store/topic-config.js';
import { ORIGIN_HEADER_STYLES, type OriginHeaderStyle } from './origin.js';

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];
export const COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type MirrorCompression = (typeof COMPRESSIONS)[number];

export interface UpstreamSpec {
  readonly name: string;
  readonly bootstrapServers: readonly string[];
  readonly clientId: string;
  /** TLS is on when this is set; the files are PEM, read by librdkafka at connect. */
  readonly tls: { readonly caFile: string; readonly certFile: string; readonly keyFile: string } | undefined;
  /** The password is read from `passwordFile` at connect (systemd LoadCredential= puts it there). */
  readonly sasl: { readonly mechanism: SaslMechanism; readonly username: string; readonly passwordFile: string } | undefined;
}

export interface MirrorRuleSpec {
  readonly name: string;
  readonly upstream: string;
  /** As written: exact names, globs, or /regex/. */
  readonly topics: readonly string[];
  readonly upstreamTopic: string;
  readonly partitioning: 'same' | 'key';
  /** librdkafka batch.num.messages. */
  readonly batchSize: number;
  readonly lingerMs: number;
  readonly compression: MirrorCompression;
  /** Records produced and not yet acknowledged, at most (the duplicate window after a crash). */
  readonly maxInFlight: number;
  readonly maxInFlightBytes: number;
  readonly onRefused: 'stop' | 'skip';
  readonly deadLetterTopic: string;
  /** Record bytes (key + value + headers, before compression) per second; 0 = no cap. */
  readonly maxBytesPerSecond: number;
  /** How each record names its origin upstream (origin.ts). */
  readonly originHeaders: OriginHeaderStyle;
  /** exactly-once: each chunk and its cursor in one upstream transaction (exactly-once.ts). */
  readonly delivery: MirrorDelivery;
  /** The upstream compacted topic holding exactly-once cursors. */
  readonly cursorTopic: string;
  /** The client that sends (exactly-once always uses librdkafka's transactions). */
  readonly client: MirrorClient;
}

export const DELIVERIES = ['at-least-once', 'exactly-once'] as const;
/** Which Kafka client sends at-least-once: Weir's own producer (wire/), or librdkafka. */
export const CLIENTS = ['weir', 'librdkafka'] as const;
export type MirrorClient = (typeof CLIENTS)[number];
export type MirrorDelivery = (typeof DELIVERIES)[number];

const DEFAULT_CLIENT: MirrorClient = 'weir';
const NAME = /^[a-zA-Z0-9._-]{1,64}$/;
const LEGAL_TOPIC_TEXT = /^[a-zA-Z0-9._-]*$/;
export const TEMPLATE_VARS = ['device', 'topic'] as const;

function list(raw: unknown, what: string): ParseResult<unknown[]> {
  return yamlList(raw, what, `a list of ${what}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(r: Record<string, unknown>, allowed: readonly string[], at: string, problems: string[]): void {
  for (const k of Object.keys(r)) if (!allowed.includes(k)) problems.push(`${at}.${k}: unknown field (expected one of ${allowed.join(', ')})`);
}

function str(r: Record<string, unknown>, key: string, at: string, problems: string[], fallback?: string): string {
  const v = r[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'string' || v === '') {
    problems.push(`${at}.${key}: expected a non-empty string`);
    return '';
  }
  return v;
}

function filePath(r: Record<string, unknown>, key: string, at: string, problems: string[], ctx: ParseContext): string {
  const v = r[key];
  if (v === undefined || v === '') return '';
  if (typeof v !== 'string') {
    problems.push(`${at}.${key}: expected a file path`);
    return '';
  }
  return path.resolve(ctx.cwd, v);
}

function intField(r: Record<string, unknown>, key: string, at: string, problems: string[], fallback: number, min: number, max: number): number {
  const v = r[key];
  if (v === undefined) return fallback;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    problems.push(`${at}.${key}: expected an integer from ${min} to ${max}`);
    return fallback;
  }
  return n;
}

function sizeField(r: Record<string, unknown>, key: string, at: string, problems: string[], fallback: number, min: number): number {
  const v = r[key];
  if (v === undefined) return fallback;
  const n = parseByteSize(v);
  if (n === undefined || n < min) {
    problems.push(`${at}.${key}: expected a size of at least ${min} bytes, e.g. 16MiB`);
    return fallback;
  }
  return n;
}

function oneOf<T extends string>(r: Record<string, unknown>, key: string, values: readonly T[], at: string, problems: string[], fallback: T): T {
  const v = r[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    problems.push(`${at}.${key}: expected one of ${values.join(', ')}`);
    return fallback;
  }
  return v as T;
}

function parseUpstream(item: unknown, i: number, ctx: ParseContext, problems: string[]): UpstreamSpec | undefined {
  const at = `upstreams[${i}]`;
  if (!isRecord(item)) {
    problems.push(`${at}: expected a mapping with name, bootstrap_servers, client_id, tls, sasl`);
    return undefined;
  }
  checkKeys(item, ['name', 'bootstrap_servers', 'client_id', 'tls', 'sasl'], at, problems);
  const name = str(item, 'name', at, problems);
  if (name !== '' && !NAME.test(name)) problems.push(`${at}.name: use 1–64 letters, digits, ".", "_" or "-"`);
  const raw = item.bootstrap_servers;
  const servers = (Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : [])
    .map((s) => (typeof s === 'string' ? s.trim() : ''))
    .filter((s) => s !== '');
  if (servers.length === 0 || servers.some((s) => !/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/.test(s))) {
    problems.push(`${at}.bootstrap_servers: expected a list of host:port, e.g. [kafka1.example.com:9093]`);
  }
  const clientId = typeof item.client_id === 'string' && item.client_id !== '' ? item.client_id : 'weir-mirror';
  let tls: UpstreamSpec['tls'];
  if (item.tls !== undefined && item.tls !== null) {
    if (!isRecord(item.tls)) problems.push(`${at}.tls: expected a mapping with ca_file, cert_file, key_file (each optional)`);
    else {
      checkKeys(item.tls, ['ca_file', 'cert_file', 'key_file'], `${at}.tls`, problems);
      tls = {
        caFile: filePath(item.tls, 'ca_file', `${at}.tls`, problems, ctx),
        certFile: filePath(item.tls, 'cert_file', `${at}.tls`, problems, ctx),
        keyFile: filePath(item.tls, 'key_file', `${at}.tls`, problems, ctx),
      };
      if ((tls.certFile === '') !== (tls.keyFile === '')) problems.push(`${at}.tls: cert_file and key_file go together (client certificate authentication)`);
    }
  }
  let sasl: UpstreamSpec['sasl'];
  if (item.sasl !== undefined && item.sasl !== null) {
    if (!isRecord(item.sasl)) problems.push(`${at}.sasl: expected a mapping with mechanism, username, password_file`);
    else {
      checkKeys(item.sasl, ['mechanism', 'username', 'password_file'], `${at}.sasl`, problems);
      const passwordFile = filePath(item.sasl, 'password_file', `${at}.sasl`, problems, ctx);
      if (passwordFile === '') problems.push(`${at}.sasl.password_file: expected the path of a file holding the password (e.g. from systemd LoadCredential=)`);
      sasl = {
        mechanism: oneOf(item.sasl, 'mechanism', SASL_MECHANISMS, `${at}.sasl`, problems, 'SCRAM-SHA-512'),
        username: str(item.sasl, 'username', `${at}.sasl`, problems),
        passwordFile,
      };
    }
  }
  return Object.freeze({ name, bootstrapServers: Object.freeze(servers), clientId, tls, sasl });
}

function checkTemplate(text: string, where: string, problems: string[]): void {
  const re = /\{([^{}]*)\}|([^{}]+)|([{}])/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[3] !== undefined) problems.push(`${where}: unbalanced "${m[3]}" in "${text}"`);
    else if (m[1] !== undefined && !(TEMPLATE_VARS as readonly string[]).includes(m[1])) {
      problems.push(`${where}: unknown variable {${m[1]}}; known: {device}, {topic}`);
    } else if (m[2] !== undefined && !LEGAL_TOPIC_TEXT.test(m[2])) {
      problems.push(`${where}: "${m[2]}" is not legal in a Kafka topic name (only letters, digits, ".", "_" and "-")`);
    }
  }
}

function parseRule(item: unknown, i: number, problems: string[]): MirrorRuleSpec | undefined {
  const at = `rules[${i}]`;
  const keys = ['name', 'upstream', 'topics', 'upstream_topic', 'partitioning', 'batch_size', 'linger_ms', 'compression', 'max_in_flight', 'max_in_flight_bytes', 'on_refused', 'dead_letter_topic', 'max_bytes_per_second', 'delivery', 'cursor_topic', 'origin_headers', 'client'];
  if (!isRecord(item)) {
    problems.push(`${at}: expected a mapping with ${keys.join(', ')}`);
    return undefined;
  }
  checkKeys(item, keys, at, problems);
  const name = str(item, 'name', at, problems, `rule-${i}`);
  if (!NAME.test(name)) problems.push(`${at}.name: use 1–64 letters, digits, ".", "_" or "-" (it names the rule's cursors)`);
  const rawTopics = typeof item.topics === 'string' ? [item.topics] : item.topics;
  const topics = Array.isArray(rawTopics) ? rawTopics.filter((t): t is string => typeof t === 'string' && t !== '') : [];
  if (topics.length === 0 || (Array.isArray(rawTopics) && topics.length !== rawTopics.length)) {
    problems.push(`${at}.topics: expected a list of local topic names or patterns, e.g. [sensors.*, mqtt]`);
  }
  for (const t of topics) {
    try {
      topicMatcher([t]);
    } catch {
      problems.push(`${at}.topics: "${t}" is not a valid regular expression`);
    }
  }
  const upstreamTopic = str(item, 'upstream_topic', at, problems, 'edge.{device}.{topic}');
  checkTemplate(upstreamTopic, `${at}.upstream_topic`, problems);
  const rawLinger = item.linger_ms;
  const lingerMs = rawLinger === undefined ? 20 : parseDurationMs(rawLinger);
  if (lingerMs === undefined || lingerMs > 60_000) problems.push(`${at}.linger_ms: expected a duration up to 1m, e.g. 20`);
  const dlq = str(item, 'dead_letter_topic', at, problems, 'weir.mirror.dead-letter');
  if (!LEGAL_TOPIC_TEXT.test(dlq) || dlq.length > MAX_TOPIC_NAME_LENGTH) problems.push(`${at}.dead_letter_topic: expected a Kafka topic name`);
  const delivery = oneOf(item, 'delivery', DELIVERIES, at, problems, 'at-least-once');
  const cursorTopic = str(item, 'cursor_topic', at, problems, 'weir-mirror-cursors');
  if (!LEGAL_TOPIC_TEXT.test(cursorTopic) || cursorTopic.length > MAX_TOPIC_NAME_LENGTH) problems.push(`${at}.cursor_topic: expected a Kafka topic name`);
  if (delivery === 'exactly-once' && item.on_refused === 'skip') {
    problems.push(`${at}.on_refused: skip cannot go with delivery: exactly-once (a dead-lettered record would leave the upstream's sequence); use on_refused: stop or delivery: at-least-once`);
  }
  const client = oneOf(item, 'client', CLIENTS, at, problems, delivery === 'exactly-once' || item.compression === 'zstd' ? 'librdkafka' : DEFAULT_CLIENT);
  if (client === 'weir' && delivery === 'exactly-once') problems.push(`${at}.client: weir cannot go with delivery: exactly-once (its transactions run on librdkafka); remove client or set client: librdkafka`);
  if (client === 'weir' && item.compression === 'zstd') problems.push(`${at}.compression: zstd needs client: librdkafka (Weir's own producer compresses with none, gzip, snappy or lz4)`);
  const rule: MirrorRuleSpec = {
    name,
    upstream: str(item, 'upstream', at, problems),
    topics: Object.freeze(topics),
    upstreamTopic,
    partitioning: oneOf(item, 'partitioning', ['same', 'key'] as const, at, problems, 'same'),
    batchSize: intField(item, 'batch_size', at, problems, 10_000, 1, 1_000_000),
    lingerMs: lingerMs ?? 20,
    compression: oneOf(item, 'compression', COMPRESSIONS, at, problems, 'lz4'),
    maxInFlight: intField(item, 'max_in_flight', at, problems, 20_000, 1, 1_000_000),
    maxInFlightBytes: sizeField(item, 'max_in_flight_bytes', at, problems, 16 * 2 ** 20, 64 * 1024),
    onRefused: oneOf(item, 'on_refused', ['stop', 'skip'] as const, at, problems, 'stop'),
    deadLetterTopic: dlq,
    maxBytesPerSecond: item.max_bytes_per_second === undefined ? 0 : sizeField(item, 'max_bytes_per_second', at, problems, 0, 0),
    originHeaders: oneOf(item, 'origin_headers', ORIGIN_HEADER_STYLES, at, problems, 'compact'),
    delivery,
    cursorTopic,
    client,
  };
  return Object.freeze(rule);
}

/** Compiles a rule's `topics` into a predicate: exact names, globs (`*`, `?`) or `/regex/`. */
export function topicMatcher(patterns: readonly string[]): (topic: string) => boolean {
  const exact = new Set<string>();
  const res: RegExp[] = [];
  for (const p of patterns) {
    if (p.length > 2 && p.startsWith('/') && p.endsWith('/')) res.push(new RegExp(p.slice(1, -1)));
    else if (/[*?]/.test(p)) {
      const body = p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
      res.push(new RegExp(`^${body}$`));
    } else exact.add(p);
  }
  return (topic) => exact.has(topic) || res.some((re) => re.test(topic));
}

/** Renders `edge.{device}.{topic}`; substituted text is made legal as in MQTT mapping rules. */
export function renderUpstreamTopic(template: string, vars: { device: string; topic: string }): string {
  return template.replace(/\{(device|topic)\}/g, (_, name: 'device' | 'topic') => vars[name].replaceAll('/', '.').replace(/[^a-zA-Z0-9._-]/g, '_'));
}

export function mirrorUpstreams(): FieldType<readonly UpstreamSpec[]> {
  return {
    name: 'list of upstreams',
    accepts: 'a list of {name, bootstrap_servers, client_id, tls: {ca_file, cert_file, key_file}, sasl: {mechanism, username, password_file}} (in the environment: the same list as YAML or JSON)',
    parse(raw, ctx) {
      const l = list(raw, 'upstreams');
      if (!l.ok) return l;
      const problems: string[] = [];
      const out = l.value.map((item, i) => parseUpstream(item, i, ctx, problems)).filter((u): u is UpstreamSpec => u !== undefined);
      const names = out.map((u) => u.name);
      for (const n of new Set(names)) if (names.indexOf(n) !== names.lastIndexOf(n)) problems.push(`upstreams: the name "${n}" is used twice`);
      return problems.length > 0 ? { ok: false, why: problems.join('; ') } : { ok: true, value: Object.freeze(out) };
    },
  };
}

export function mirrorRules(): FieldType<readonly MirrorRuleSpec[]> {
  return {
    name: 'list of mirror rules',
    accepts: 'a list of {name, upstream, topics, upstream_topic, partitioning, batch_size, linger_ms, compression, max_in_flight, max_in_flight_bytes, on_refused, dead_letter_topic, max_bytes_per_second, delivery, cursor_topic, origin_headers, client} (in the environment: the same list as YAML or JSON)',
    parse(raw) {
      const l = list(raw, 'mirror rules');
      if (!l.ok) return l;
      const problems: string[] = [];
      const out = l.value.map((item, i) => parseRule(item, i, problems)).filter((r): r is MirrorRuleSpec => r !== undefined);
      const names = out.map((r) => r.name);
      for (const n of new Set(names)) if (names.indexOf(n) !== names.lastIndexOf(n)) problems.push(`rules: the name "${n}" is used twice (it names the rule's cursors)`);
      return problems.length > 0 ? { ok: false, why: problems.join('; ') } : { ok: true, value: Object.freeze(out) };
    },
  };
}

/**
 * Every rule names a configured upstream: a config error (src/config/load.ts runs it through
 * MIRROR_CROSS_CHECKS), checked again by startMirror for callers that build options themselves.
 */
export function checkRuleUpstreams(upstreams: readonly UpstreamSpec[], rules: readonly MirrorRuleSpec[]): { why: string; fix: string }[] {
  const names = upstreams.map((u) => u.name);
  return rules
    .filter((r) => !names.includes(r.upstream))
    .map((r) => {
      const near = suggest(r.upstream, names);
      return {
        why: `rule "${r.name}" names upstream "${r.upstream}", which is not in mirror.upstreams (known: ${names.join(', ') || 'none'})`,
        fix: near !== undefined ? `Did you mean "${near}"?` : `Name one of mirror.upstreams in the rule's upstream, or add an upstream named "${r.upstream}".`,
      };
    });
}
