import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isWeirError, type WeirError } from '../../src/errors.js';
import { loadConfig, redactedConfig } from '../../src/config/load.js';
import { FIELDS, envNameFor } from '../../src/config/schema.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'weir-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeYaml(text: string, name = 'weir.yaml'): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function loadError(options: Parameters<typeof loadConfig>[0]): WeirError {
  try {
    loadConfig(options);
  } catch (err) {
    if (isWeirError(err)) return err;
    throw err;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig defaults', () => {
  it('loads every field with its default when there is no file and no environment', () => {
    const config = loadConfig({ env: {}, cwd: dir });
    expect(config.store).toEqual({
      dir: path.join(dir, 'data'),
      disk_budget_bytes: 'auto',
      write_queue_max_records: 'auto',
      write_queue_max_bytes: 'auto',
      block_timeout_ms: 5000,
      retention_check_interval_ms: 60_000,
      compaction_buffer_bytes: 'auto',
      compaction_check_interval_ms: 15_000,
      max_topics: 1000,
      max_partitions: 2000,
      overlapping_sync: false,
    });
    expect(config.topic_defaults).toEqual({
      partitions: 1,
      'retention.ms': 604_800_000,
      'retention.bytes': -1,
      'segment.bytes': 16 * 2 ** 20,
      'segment.ms': 604_800_000,
      'max.message.bytes': 1_048_588,
      'cleanup.policy': 'delete',
      'min.cleanable.dirty.ratio': 0.5,
      'min.compaction.lag.ms': 0,
      'max.compaction.lag.ms': Number.MAX_SAFE_INTEGER,
      'delete.retention.ms': 86_400_000,
      'compression.type': 'producer',
      'weir.overflow.policy': 'block',
      'flush.ms': 0,
      'flush.messages': Number.MAX_SAFE_INTEGER,
    });
    expect(config.log).toEqual({ level: 'info', pretty: 'auto' });
    expect(config.shutdown).toEqual({ timeout_ms: 10_000 });
  });

  it('puts the data in $STATE_DIRECTORY under systemd (the first one when there are several)', () => {
    expect(loadConfig({ env: { STATE_DIRECTORY: '/var/lib/weir' }, cwd: dir }).store.dir).toBe('/var/lib/weir');
    expect(loadConfig({ env: { STATE_DIRECTORY: '/var/lib/weir:/var/lib/other' }, cwd: dir }).store.dir).toBe('/var/lib/weir');
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({ env: {}, cwd: dir });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.store)).toBe(true);
    expect(Object.isFrozen(config.topic_defaults)).toBe(true);
    expect(() => {
      (config.store as { block_timeout_ms: number }).block_timeout_ms = 1;
    }).toThrow(TypeError);
  });

  it('accepts an empty file, a comment-only file and sections whose fields are all commented out', () => {
    const defaults = loadConfig({ env: {}, cwd: dir });
    expect(loadConfig({ file: writeYaml(''), env: {}, cwd: dir })).toEqual(defaults);
    expect(loadConfig({ file: writeYaml('# nothing yet\n'), env: {}, cwd: dir })).toEqual(defaults);
    expect(loadConfig({ file: writeYaml('store:\n  # dir: ./data\nlog:\n'), env: {}, cwd: dir })).toEqual(defaults);
  });
});

describe('loadConfig from a YAML file', () => {
  it('reads sizes, durations, Kafka-named topic configs dotted or nested, and resolves a relative dir', () => {
    const file = writeYaml(`
store:
  dir: state            # relative: resolved against cwd
  disk_budget_bytes: 2GiB
  write_queue_max_bytes: 512 KiB
  block_timeout_ms: 2s
topic_defaults:
  partitions: 3
  retention.ms: 86400000
  retention:
    bytes: 1073741824
  weir.overflow.policy: drop-oldest
log:
  level: debug
  pretty: false
shutdown:
  timeout_ms: 1.5m
`);
    const config = loadConfig({ file, env: {}, cwd: dir });
    expect(config.store.dir).toBe(path.join(dir, 'state'));
    expect(config.store.disk_budget_bytes).toBe(2 * 2 ** 30);
    expect(config.store.write_queue_max_bytes).toBe(512 * 1024);
    expect(config.store.block_timeout_ms).toBe(2000);
    expect(config.topic_defaults.partitions).toBe(3);
    expect(config.topic_defaults['retention.ms']).toBe(86_400_000);
    expect(config.topic_defaults['retention.bytes']).toBe(2 ** 30);
    expect(config.topic_defaults['weir.overflow.policy']).toBe('drop-oldest');
    expect(config.log).toEqual({ level: 'debug', pretty: false });
    expect(config.shutdown.timeout_ms).toBe(90_000);
  });

  it('reports every wrong field in ONE error, each with field, value, reason, fix and line', () => {
    const file = writeYaml(`
store:
  write_queue_max_records: lots
  disk_budget_bytes: 12 parsecs
  overlaping_sync: true
topic_defaults:
  retention.ms: -5
  cleanup.policy: compress
log:
  level: loud
shutdown:
  timeout_ms: 0
modbus:
  port: 1883
`);
    const err = loadError({ file, env: {}, cwd: dir });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.retriable).toBe(false);
    const lines = err.message.split('\n');
    expect(lines[0]).toBe(`invalid configuration in ${file} (8 problems):`);
    const problem = (field: string): string => {
      const line = lines.find((l) => l.startsWith(`  - ${field}: `));
      expect(line, `a problem line for ${field} in:\n${err.message}`).toBeDefined();
      return line!;
    };
    expect(problem('store.write_queue_max_records')).toMatch(
      /^ {2}- store\.write_queue_max_records: "lots" is invalid — expected auto, or an integer from 1 to 10000000\. Fix: .+ \[weir\.yaml:3:3\]$/,
    );
    expect(problem('store.disk_budget_bytes')).toContain('"12 parsecs" is invalid — expected auto, or a size in bytes');
    expect(problem('store.overlaping_sync')).toContain('unknown field. Fix: Did you mean "store.overlapping_sync"?');
    expect(problem('topic_defaults.retention.ms')).toContain('-5 is invalid — expected an integer from -1');
    expect(problem('topic_defaults.cleanup.policy')).toContain('"compress" is invalid — expected delete, compact, or both as compact,delete');
    expect(problem('log.level')).toContain('"loud" is invalid — expected one of fatal, error, warn, info, debug, trace, silent. Fix: Set one of');
    expect(problem('shutdown.timeout_ms')).toContain('0 is invalid — out of range');
    expect(problem('modbus')).toContain('unknown section');
    for (const line of lines.slice(1)) expect(line).toMatch(/ is invalid — .+\. Fix: .+ \[weir\.yaml:\d+:\d+\]$/);
    expect((err.details?.problems as unknown[]).length).toBe(8);
  });

  it('reports a key without a value, and a field set twice (dotted and nested)', () => {
    const file = writeYaml('store:\n  dir:\ntopic_defaults:\n  retention.ms: 1000\n  retention:\n    ms: 2000\n');
    const err = loadError({ file, env: {}, cwd: dir });
    expect(err.message).toContain('store.dir: null is invalid — no value is given.');
    expect(err.message).toContain('topic_defaults.retention.ms: 2000 is invalid — it is set twice (also at weir.yaml:4:3)');
  });

  it('suggests the field for near misses in case, separators and spelling', () => {
    const file = writeYaml('topic_defaults:\n  retention_ms: 1\nstroe:\n  dir: x\nlog:\n  levle: info\n');
    const err = loadError({ file, env: {}, cwd: dir });
    expect(err.message).toContain('Did you mean "topic_defaults.retention.ms"?');
    expect(err.message).toContain('Did you mean "store"?');
    expect(err.message).toContain('Did you mean "log.level"?');
  });

  it('refuses a mirror rule naming an upstream that is not configured, at load (so weir doctor says so), with the near name', () => {
    const yaml = 'mirror:\n  upstreams:\n    - name: central\n      bootstrap_servers: kafka1:9093\n  rules:\n    - name: sensors\n      upstream: centrall\n      topics: [sensors]\n';
    const err = loadError({ file: writeYaml(yaml), env: {}, cwd: dir });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(
      'mirror.rules: [{"name":"sensors","upstream":"centrall","topics":["sensors"]}] is invalid — rule "sensors" names upstream "centrall", which is not in mirror.upstreams (known: central). Fix: Did you mean "central"? [weir.yaml:5:3]',
    );
    // The same rules with the upstream spelled right load.
    expect(loadConfig({ file: writeYaml(yaml.replace('centrall', 'central')), env: {}, cwd: dir }).mirror.rules).toHaveLength(1);
    // Rules without any upstream, from the environment: named by the variable, no near name to offer.
    const env = loadError({ env: { WEIR_MIRROR__RULES: '[{name: r, upstream: dc, topics: [a]}]' }, cwd: dir });
    expect(env.message).toContain('rule "r" names upstream "dc", which is not in mirror.upstreams (known: none). Fix: Name one of mirror.upstreams');
    expect(env.message).toContain('[env WEIR_MIRROR__RULES]');
  });

  it('refuses topic defaults whose minimum compaction lag is above the maximum, as Kafka refuses such a topic', () => {
    const yaml = 'topic_defaults:\n  cleanup.policy: delete,compact\n  min.compaction.lag.ms: 60000\n  max.compaction.lag.ms: 1000\n';
    const err = loadError({ file: writeYaml(yaml), env: {}, cwd: dir });
    expect(err.message).toContain(
      'topic_defaults.min.compaction.lag.ms: 60000 is invalid — conflict topic config setting min.compaction.lag.ms (60000) > max.compaction.lag.ms (1000). Fix: Set topic_defaults.min.compaction.lag.ms at most topic_defaults.max.compaction.lag.ms. [weir.yaml:3:3]',
    );
    const ok = loadConfig({ file: writeYaml(yaml.replace('1000', '60000')), env: {}, cwd: dir }).topic_defaults;
    expect([ok['cleanup.policy'], ok['min.compaction.lag.ms'], ok['max.compaction.lag.ms']]).toEqual(['compact,delete', 60_000, 60_000]);
  });

  it('rejects a file that is not a mapping of sections', () => {
    const err = loadError({ file: writeYaml('- store\n- log\n'), env: {}, cwd: dir });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('the file must be a mapping of sections');
    expect(loadError({ file: writeYaml('store: 3\n'), env: {}, cwd: dir }).message).toContain('a section must be a mapping of fields');
  });

  it('names the file when it is missing', () => {
    const file = path.join(dir, 'nope.yaml');
    const err = loadError({ file, env: {}, cwd: dir });
    expect(err.code).toBe('CONFIG_UNREADABLE');
    expect(err.message).toBe(`cannot read config file ${file}: no such file`);
  });

  it('names the file, line and column when the YAML does not parse', () => {
    const file = writeYaml('store:\n  dir: ./data\nlog:\n  level: [info\n');
    const err = loadError({ file, env: {}, cwd: dir });
    expect(err.code).toBe('CONFIG_UNREADABLE');
    expect(err.message).toMatch(new RegExp(`^cannot parse config file ${file} as YAML: line \\d+, column \\d+: `));
    const dup = loadError({ file: writeYaml('log:\n  level: info\n  level: debug\n', 'dup.yaml'), env: {}, cwd: dir });
    expect(dup.code).toBe('CONFIG_UNREADABLE');
    expect(dup.message).toContain('line 3, column 3: Map keys must be unique');
  });

  it('resolves a relative file name against cwd', () => {
    writeYaml('log:\n  level: warn\n', 'rel.yaml');
    expect(loadConfig({ file: 'rel.yaml', env: {}, cwd: dir }).log.level).toBe('warn');
  });
});

describe('environment overrides', () => {
  it('maps WEIR_<SECTION>__<FIELD> exactly, dots and dashes as underscores', () => {
    expect(envNameFor('store', 'dir')).toBe('WEIR_STORE__DIR');
    expect(envNameFor('topic_defaults', 'retention.ms')).toBe('WEIR_TOPIC_DEFAULTS__RETENTION_MS');
    expect(envNameFor('topic_defaults', 'weir.overflow.policy')).toBe('WEIR_TOPIC_DEFAULTS__WEIR_OVERFLOW_POLICY');
    expect(new Set(FIELDS.map((f) => f.env)).size).toBe(FIELDS.length);
  });

  it('wins over the file and the default', () => {
    const file = writeYaml('store:\n  dir: /from/file\n  block_timeout_ms: 100\n');
    const config = loadConfig({
      file,
      cwd: dir,
      env: {
        WEIR_STORE__DIR: '/from/env',
        WEIR_TOPIC_DEFAULTS__RETENTION_MS: '3600000',
        WEIR_STORE__OVERLAPPING_SYNC: 'false',
        WEIR_STORE__WRITE_QUEUE_MAX_BYTES: '1MiB',
        WEIR_LOG__PRETTY: 'true',
        STATE_DIRECTORY: '/var/lib/weir',
        PATH: '/usr/bin',
      },
    });
    expect(config.store.dir).toBe('/from/env');
    expect(config.store.block_timeout_ms).toBe(100);
    expect(config.topic_defaults['retention.ms']).toBe(3_600_000);
    expect(config.store.overlapping_sync).toBe(false);
    expect(config.store.write_queue_max_bytes).toBe(2 ** 20);
    expect(config.log.pretty).toBe(true);
  });

  it('reports an unknown WEIR_ variable and a bad value, naming the variable', () => {
    const err = loadError({ env: { WEIR_STORE__DIRR: '/x', WEIR_STORE__BLOCK_TIMEOUT_MS: 'soon', WEIR_MQTT__PORT: '1883' }, cwd: dir });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('(3 problems)');
    expect(err.message).toContain('WEIR_STORE__DIRR: "/x" is invalid — unknown environment override. Fix: Did you mean WEIR_STORE__DIR?');
    expect(err.message).toContain('store.block_timeout_ms: "soon" is invalid — expected a duration');
    expect(err.message).toContain('[env WEIR_STORE__BLOCK_TIMEOUT_MS]');
    expect(err.message).toContain('WEIR_MQTT__PORT: "1883" is invalid — unknown environment override');
  });

  it('treats an empty variable as a value, not as unset', () => {
    expect(loadError({ env: { WEIR_STORE__DIR: '' }, cwd: dir }).message).toContain('store.dir: "" is invalid');
  });
});

describe('redactedConfig', () => {
  it('is a plain, complete copy of the config for logs', () => {
    const config = loadConfig({ env: {}, cwd: dir });
    const summary = redactedConfig(config);
    expect(summary).toEqual(JSON.parse(JSON.stringify(config)));
    expect(Object.isFrozen(summary)).toBe(false);
  });
});
