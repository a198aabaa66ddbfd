/**
 * Mapping rules: matching, rendering, and the errors an operator sees for a bad rule at load.
 */
import { describe, expect, it } from 'vitest';
import { Mapper, defaultRule, parseRules, type CompiledRule } from '../../../bridge/mqtt/mapping.js';
import { loadConfig } from '../../../src/config/load.js';
import { isWeirError } from '../../../src/errors.js';

function rules(raw: unknown): CompiledRule[] {
  const r = parseRules(raw);
  if (!r.ok) throw new Error(r.why);
  return r.value;
}

const ctx = (topic: string) => ({ topic, clientId: 'c1', username: 'u' });

describe('matching', () => {
  const mapper = new Mapper(rules([
    { filter: 'sensors/{site}/{device}/#', topic: 'sensors.{site}', key: '{device}' },
    { filter: 'a/+/b', topic: 'ab', key: '{mqtt.client_id}-{mqtt.username}' },
    { filter: 'exact', topic: 'exact' },
  ]));

  it.each([
    ['sensors/n/d1/temp', 'sensors.n', 'd1'],
    ['sensors/n/d1', 'sensors.n', 'd1'], // "#" matches the parent level too [MQTT-4.7.1-2]
    ['sensors/n/d1/a/b/c', 'sensors.n', 'd1'],
    ['a/x/b', 'ab', 'c1-u'],
    ['exact', 'exact', null],
  ])('%s → %s key %s', (topic, logTopic, key) => {
    const m = mapper.map(ctx(topic));
    expect(m?.topic).toBe(logTopic);
    expect(m?.key?.toString() ?? null).toBe(key);
  });

  it.each(['sensors/n', 'a/x/y/b', 'a/b', 'exact/more', 'other'])('%s matches no rule', (topic) => {
    expect(mapper.map(ctx(topic))).toBeUndefined();
  });

  it('first match wins', () => {
    const m = new Mapper(rules([{ filter: 'x/#', topic: 'first' }, { filter: 'x/y', topic: 'second' }]));
    expect(m.map(ctx('x/y'))?.topic).toBe('first');
  });

  it('a filter starting with a wildcard does not match a "$" topic [MQTT-4.7.2-1]', () => {
    expect(new Mapper(rules([{ filter: '#', topic: 'all' }])).map(ctx('$internal/x'))).toBeUndefined();
  });

  it('captures become mqtt.<name> headers, then the rule\'s own headers', () => {
    const m = new Mapper(rules([{ filter: '{a}/{b}', topic: 't', headers: { h: '{b}!' } }])).map(ctx('x/y'));
    expect(m?.headers.map((h) => [h.key, h.value.toString()])).toEqual([['mqtt.a', 'x'], ['mqtt.b', 'y'], ['h', 'y!']]);
  });

  it('the default rule keys by the MQTT topic and sanitizes nothing in the key', () => {
    const m = new Mapper(rules([defaultRule('mqtt')])).map(ctx('a/b c'));
    expect(m?.topic).toBe('mqtt');
    expect(m?.key?.toString()).toBe('a/b c');
  });

  it('a rendered topic name that is still illegal leaves the message unmapped', () => {
    const m = new Mapper(rules([{ filter: '{x}', topic: '{x}' }]));
    expect(m.map(ctx('.'))).toBeUndefined(); // "." is reserved
    expect(m.map(ctx('a'.repeat(300)))).toBeUndefined(); // longer than 249
    expect(m.map(ctx('ok'))?.topic).toBe('ok');
  });
});

describe('validation at config load', () => {
  it.each([
    [{ filter: 'a/{x}/#', topic: 't.{y}' }, 'rules[0].topic: unknown variable {y}'],
    [{ filter: 'a/#/b', topic: 't' }, 'rules[0].filter: "#" must be the last level'],
    [{ filter: 'a/x{y}', topic: 't' }, 'must be a whole level'],
    [{ filter: 'a/{x}/{x}', topic: 't' }, 'capture {x} appears twice'],
    [{ filter: 'a/{topic}', topic: 't' }, 'would shadow the built-in header mqtt.topic'],
    [{ filter: 'a', topic: 'bad/name' }, 'rules[0].topic: "bad/name" is not legal in a Kafka topic name'],
    [{ filter: 'a', topic: 't', key: '{oops' }, 'rules[0].key: unbalanced "{"'],
    [{ filter: 'a', topic: 't', colour: 'red' }, 'rules[0].colour: unknown field'],
    [{ filter: 'a' }, 'rules[0].topic: expected a log topic template'],
    [{ filter: 'a', topic: 't', headers: { 'mqtt.qos': 'x' } }, 'rules[0].headers.mqtt.qos: this header is set by Weir itself'],
  ])('%j is refused: %s', (rule, message) => {
    const r = parseRules([rule]);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.why).toContain(message);
  });

  it('reports every bad rule at once, through the config loader, naming mqtt.rules', () => {
    const env = { WEIR_MQTT__RULES: '[{filter: "a/{x}", topic: "{y}"}, {filter: "b/#/c", topic: t}]' };
    try {
      loadConfig({ env });
      expect.unreachable();
    } catch (err) {
      expect(isWeirError(err, 'CONFIG_INVALID')).toBe(true);
      const message = String(err);
      expect(message).toContain('mqtt.rules');
      expect(message).toContain('rules[0].topic: unknown variable {y}');
      expect(message).toContain('rules[1].filter');
    }
  });

  it('accepts rules from YAML in the config file shape (a list of mappings)', () => {
    const config = loadConfig({ env: { WEIR_MQTT__RULES: '- filter: "s/{d}/#"\n  topic: s\n  key: "{d}"\n' } });
    expect(config.mqtt.rules.map((r) => r.spec)).toEqual([{ filter: 's/{d}/#', topic: 's', key: '{d}' }]);
  });

  it('defaults: loopback 1883, no rules, unmatched to topic "mqtt", auto-created topics', () => {
    const { mqtt } = loadConfig({ env: {} });
    expect(mqtt.listen).toEqual({ host: '127.0.0.1', port: 1883 });
    expect(mqtt.rules).toEqual([]);
    expect([mqtt.unmatched, mqtt.unmatched_topic, mqtt.auto_create_topics, mqtt.allow_anonymous]).toEqual(['store', 'mqtt', true, false]);
  });
});
