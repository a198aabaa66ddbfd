/** The `weir` command's help and usage errors: no store involved. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { assertBuilt, runWeir } from './helpers.js';

let cwd: string;
beforeAll(() => {
  assertBuilt();
  cwd = mkdtempSync(path.join(tmpdir(), 'weir-cli-'));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const weir = (...args: string[]) => runWeir(args, { cwd });

describe.concurrent('weir help', () => {
  it('--help lists every command, exits 0 and writes nothing to stderr', async () => {
    const r = await weir('--help');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Usage: weir <command> [options]');
    for (const c of COMMANDS) expect(r.stdout).toContain(c.path.join(' '));
    expect(r.stdout).toContain('Exit status: 0 success, 1 runtime or configuration error, 2 usage error.');
    expect((await weir('-h')).stdout).toBe(r.stdout);
    expect((await weir('help')).stdout).toBe(r.stdout);
  });

  it('the protocol commands and every topics command take --bootstrap-server; the group helps say so', async () => {
    for (const c of COMMANDS.filter((c) => ['produce', 'consume', 'groups', 'topics'].includes(c.path[0]!))) {
      expect((await weir(...c.path, '--help')).stdout).toContain('--bootstrap-server HOST:PORT');
    }
    for (const group of ['topics', 'groups']) {
      const r = await weir(group, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Options of every \w+ command:\n {2}--bootstrap-server HOST:PORT/);
      expect(r.stdout).toContain('--command-config FILE');
    }
    // Options of every users command are the users commands' own, not the topics commands'.
    expect((await weir('users', '--help')).stdout).not.toContain('--data-dir');
    const top = await weir('--help');
    for (const name of ['produce', 'consume', 'groups list', 'groups describe']) expect(top.stdout).toContain(`  ${name} `);
  });

  it('`weir help topics` and `weir topics --help` print the topics group help', async () => {
    const a = await weir('help', 'topics');
    const b = await weir('topics', '--help');
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    for (const action of ['create', 'list', 'describe', 'delete', 'alter']) expect(a.stdout).toContain(`  ${action} `);
    expect(a.stdout).toContain('--data-dir DIR');
    expect(a.stdout).toContain('--config-file FILE');
  });

  it.each(COMMANDS.map((c) => [c.path.join(' '), c] as const))('`weir %s --help` shows usage, every flag, defaults and an example', async (_name, spec) => {
    const r = await weir(...spec.path, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: weir ${spec.path.join(' ')}`);
    for (const o of spec.options) {
      expect(r.stdout).toContain(`--${o.name}`);
      if (o.defaultDoc !== undefined) expect(r.stdout.replace(/\s+/g, ' ')).toContain(`Default: ${o.defaultDoc}`);
    }
    expect(r.stdout).toContain('-h, --help');
    expect(r.stdout).toMatch(/Examples?:\n {2}weir /);
    expect((await weir('help', ...spec.path)).stdout).toBe(r.stdout);
  });

  it('--version prints the package version', async () => {
    const r = await weir('--version');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^weir \d+\.\d+\.\d+/);
  });
});

describe.concurrent('usage errors: exit 2, `weir: …` and what to do next on stderr', () => {
  it.each([
    [[], 'weir: no command given', "Run 'weir --help'"],
    [['strat'], "weir: unknown command 'strat' (did you mean 'start'?)", "Run 'weir --help'"],
    [['topics'], "weir: 'weir topics' needs a command", "Run 'weir topics --help'"],
    [['topics', 'creat'], "weir: unknown command 'weir topics creat' (did you mean 'weir topics create'?)", "Run 'weir topics --help'"],
    [['topics', 'create'], 'weir: missing --topic NAME', "Run 'weir topics create --help' for usage."],
    [['topics', 'create', '--topic', 'a', '--partitoins', '3'], "weir: unknown option '--partitoins' for 'weir topics create' (did you mean --partitions?)", 'topics create --help'],
    [['topics', 'create', '--topic', 'a', '--partitions', 'three'], 'weir: --partitions three is invalid: expected a whole number from 1 to 10000', 'topics create --help'],
    [['topics', 'create', '--topic', 'a', '--partitions', '0'], 'weir: --partitions 0 is invalid', 'topics create --help'],
    [['topics', 'create', '--topic', 'a', '--config', 'retention.ms'], 'weir: --config retention.ms is invalid: expected KEY=VALUE', 'topics create --help'],
    [['topics', 'create', '--topic', 'a', '--config', 'retention.mss=1'], "weir: unknown topic config 'retention.mss'", 'topics create --help'],
    [['topics', 'create', '--topic', 'a', '--config', 'retention.ms=soon'], 'weir: retention.ms=soon is invalid', 'topics create --help'],
    [['topics', 'create', '--topic', 'no spaces'], "weir: invalid topic name 'no spaces'", 'topics create --help'],
    [['produce', '--topic', 'a'], 'weir: missing --bootstrap-server HOST:PORT', "Run 'weir produce --help' for usage."],
    [['consume', '--bootstrap-server', '127.0.0.1:9092'], 'weir: missing --topic NAME', "Run 'weir consume --help' for usage."],
    [['consume', '--bootstrap-server', '127.0.0.1:9092', '--topic', 'a', '--offset', '5'], 'weir: --offset needs --partition', 'consume --help'],
    [['consume', '--bootstrap-server', 'nohostport', '--topic', 'a'], 'weir: --bootstrap-server nohostport is invalid: expected HOST:PORT', 'consume --help'],
    [['produce', '--bootstrap-server', '127.0.0.1:9092', '--topic', 'a', '--property', 'parse.kee=true'], 'weir: --property parse.kee: unknown', 'produce --help'],
    [['groups', 'describe', '--bootstrap-server', '127.0.0.1:9092'], 'weir: missing --group GROUP', "Run 'weir groups describe --help' for usage."],
    [['groups'], "weir: 'weir groups' needs a command", "Run 'weir groups --help'"],
    [['topics', 'create', '--topic', 'a', 'extra'], "weir: unexpected argument 'extra'", 'topics create --help'],
    [['topics', 'create', '--topic'], "weir: Option '--topic <value>' argument missing", 'topics create --help'],
    [['topics', 'alter', '--topic', 'a'], 'weir: nothing to alter: give --partitions, --config or --delete-config', 'topics alter --help'],
    [['topics', 'alter', '--topic', 'a', '--delete-config', 'nope'], 'weir: --delete-config nope: unknown topic config', 'topics alter --help'],
    [['topics', 'alter', '--topic', 'a', '--config', 'segment.ms=1000', '--delete-config', 'segment.ms'], 'weir: segment.ms is given to both --config and --delete-config', 'topics alter --help'],
    [['topics', 'list', '--data-dir', 'does-not-exist'], 'weir: there is no Weir data directory at', 'with --data-dir, or create a topic there first'],
    [['start', '--bootstrap-server', 'localhost:9092'], "weir: unknown option '--bootstrap-server' for 'weir start'", 'start --help'],
  ])('weir %j', async (args, message, hint) => {
    const r = await weir(...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toContain(hint);
  });
});

describe('configuration errors: exit 1', () => {
  it('a missing config file', async () => {
    const r = await weir('start', '--config', 'missing.yaml');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`weir: cannot read config file ${path.join(cwd, 'missing.yaml')}: no such file`);
  });

  it('an invalid environment override is reported before anything is opened', async () => {
    const r = await runWeir(['start'], { cwd, env: { WEIR_STORE__BLOCK_TIMEOUT_MS: 'soon', WEIR_STORE__DIRR: 'x' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('weir: invalid configuration (2 problems):');
    expect(r.stderr).toContain('store.block_timeout_ms: "soon" is invalid');
    expect(r.stderr).toContain('Did you mean WEIR_STORE__DIR?');
    expect(r.stderr.trimEnd().split('\n').at(-1)).toContain('Fix each field listed above');
  });
});
