/**
 * Publish and subscribe ACLs (`mqtt.acl`). With no entries every client may do everything (the
 * listener's authentication is the gate). With entries, access is denied unless an entry that
 * applies to the client allows it: an entry applies when its `user` and `client_id` (each
 * optional) equal the client's. Filters may use `%u` (username) and `%c` (client id), as in
 * mosquitto; a value containing `/`, `+` or `#` is never substituted (it could widen the
 * filter), so such a pattern simply does not match.
 */
import { yamlList, type FieldType, type ParseResult } from '../../src/config/types.js';

export interface AclEntry {
  readonly user?: string;
  readonly client_id?: string;
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
}

export interface AclSubject {
  username: string | undefined;
  clientId: string;
}

/** MQTT topic matching [MQTT-4.7]: does `filter` match the topic name `topic`? */
export function topicMatches(filter: string, topic: string): boolean {
  // [MQTT-4.7.2-1] wildcards at the first level do not match topics starting with "$".
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Does the ACL filter `acl` match every topic the subscription filter `sub` can match? */
export function filterCovers(acl: string, sub: string): boolean {
  if (sub.startsWith('$') !== acl.startsWith('$') && (acl.startsWith('+') || acl.startsWith('#'))) return false;
  const a = acl.split('/');
  const s = sub.split('/');
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '#') return true;
    if (i >= s.length || s[i] === '#') return false;
    if (a[i] === '+') continue;
    if (s[i] === '+' || a[i] !== s[i]) return false;
  }
  return a.length === s.length;
}

function substitute(pattern: string, subject: AclSubject): string | undefined {
  let unsafe = false;
  const out = pattern.replace(/%[uc]/g, (v) => {
    const value = v === '%u' ? subject.username : subject.clientId;
    if (value === undefined || value === '' || /[/+#]/.test(value)) unsafe = true;
    return value ?? '';
  });
  return unsafe ? undefined : out;
}

export class Acl {
  constructor(private readonly entries: readonly AclEntry[]) {}

  get enabled(): boolean {
    return this.entries.length > 0;
  }

  private applicable(subject: AclSubject): AclEntry[] {
    return this.entries.filter((e) => (e.user === undefined || e.user === subject.username) && (e.client_id === undefined || e.client_id === subject.clientId));
  }

  canPublish(subject: AclSubject, topic: string): boolean {
    if (!this.enabled) return true;
    return this.applicable(subject).some((e) => e.publish.some((p) => {
      const filter = substitute(p, subject);
      return filter !== undefined && topicMatches(filter, topic);
    }));
  }

  canSubscribe(subject: AclSubject, subscription: string): boolean {
    if (!this.enabled) return true;
    return this.applicable(subject).some((e) => e.subscribe.some((p) => {
      const filter = substitute(p, subject);
      return filter !== undefined && filterCovers(filter, subscription);
    }));
  }
}

function stringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string' && x !== '');
}

function checkFilter(filter: string, where: string, problems: string[]): void {
  const levels = filter.split('/');
  levels.forEach((level, i) => {
    if (level === '#' && i !== levels.length - 1) problems.push(`${where}: "#" must be the last level of "${filter}" [MQTT-4.7.1-2]`);
    else if (level.length > 1 && /[+#]/.test(level)) problems.push(`${where}: "${level}" in "${filter}": a wildcard must be a whole level [MQTT-4.7.1-3]`);
  });
}

export function parseAcl(raw: unknown): ParseResult<AclEntry[]> {
  const parsed = yamlList(raw, 'ACL', 'a list of {user, client_id, publish, subscribe} entries');
  if (!parsed.ok) return parsed;
  const list = parsed.value;
  const problems: string[] = [];
  const entries: AclEntry[] = [];
  list.forEach((item: unknown, i) => {
    const at = `acl[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      problems.push(`${at}: expected a mapping with user, client_id, publish, subscribe`);
      return;
    }
    const e = item as Record<string, unknown>;
    for (const k of Object.keys(e)) if (!['user', 'client_id', 'publish', 'subscribe'].includes(k)) problems.push(`${at}.${k}: unknown field`);
    for (const k of ['user', 'client_id'] as const) if (e[k] !== undefined && typeof e[k] !== 'string') problems.push(`${at}.${k}: expected a string`);
    for (const k of ['publish', 'subscribe'] as const) {
      if (e[k] === undefined) continue;
      if (!stringList(e[k])) problems.push(`${at}.${k}: expected a list of topic filters`);
      else e[k].forEach((f, j) => checkFilter(f, `${at}.${k}[${j}]`, problems));
    }
    entries.push({
      ...(typeof e.user === 'string' ? { user: e.user } : {}),
      ...(typeof e.client_id === 'string' ? { client_id: e.client_id } : {}),
      publish: stringList(e.publish) ? e.publish : [],
      subscribe: stringList(e.subscribe) ? e.subscribe : [],
    });
  });
  return problems.length > 0 ? { ok: false, why: problems.join('; ') } : { ok: true, value: entries };
}

/** The config field type for `mqtt.acl`. */
export function aclEntries(): FieldType<AclEntry[]> {
  return {
    name: 'list of ACL entries',
    accepts: 'a list of {user, client_id, publish: [filters], subscribe: [filters]} entries (in the environment: the same list as YAML or JSON)',
    parse: (raw) => parseAcl(raw),
  };
}
