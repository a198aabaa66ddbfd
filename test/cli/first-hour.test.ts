/**
 * "The first hour of a new user": the config flag every command accepts, errors that say what is
 * wrong and what to do (not a connection hint for a missing topic), `weir simulate` credentials,
 * and the README's CLI reference listing every command.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { finished, runWeir, spawnWeir } from './helpers.js';
import { weirForFile } from './weir-fixture.js';

let dir: string;
let bs: string;
const PASSWD = 'pw-of-sim';

const fixture = weirForFile('weir-first-hour-', async (tmp, cli) => {
  dir = tmp;
  expect((await cli(['users', 'add', '--username', 'sim', '--password-file', path.join(dir, 'mqtt.passwd')], `${PASSWD}\n`)).code).toBe(0);
  mkdirSync(path.join(dir, 'data'));
  return {
    dataDir: path.join(dir, 'data'),
    env: {
      WEIR_KAFKA__AUTO_CREATE_TOPICS_ENABLE: 'false',
      WEIR_MQTT__ENABLED: 'true',
      WEIR_MQTT__LISTEN: '127.0.0.1:0',
      WEIR_MQTT__PASSWORD_FILE: path.join(dir, 'mqtt.passwd'),
      WEIR_MQTT__ALLOW_ANONYMOUS: 'false',
    },
  };
});
const { cli } = fixture;
beforeAll(() => {
  bs = fixture.weir.kafka;
});

describe.concurrent('errors that point the right way', () => {
  it('produce to a missing topic with auto-create off says the topic does not exist and how to create it', async () => {
    const r = await cli(['produce', '--bootstrap-server', bs, '--topic', 'nope'], 'hello\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('topic nope does not exist');
    expect(r.stderr).toContain(`weir topics create --bootstrap-server ${bs} --topic nope`);
    expect(r.stderr).not.toContain('Check that Weir is running');
  });

  it('topics delete of a missing topic with --bootstrap-server names the broker, not a data directory', async () => {
    const r = await cli(['topics', 'delete', '--bootstrap-server', bs, '--topic', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`topic nope does not exist on the broker at ${bs}`);
    expect(r.stderr).not.toContain('data directory');
  });

  it('shrinking partitions says that partitions can only grow, through the broker and on a data dir', async () => {
    expect((await cli(['topics', 'create', '--bootstrap-server', bs, '--topic', 'three', '--partitions', '3'])).code).toBe(0);
    const remote = await cli(['topics', 'alter', '--bootstrap-server', bs, '--topic', 'three', '--partitions', '2']);
    expect(remote.code).toBe(1);
    expect(remote.stderr).toMatch(/partitions can only grow/i);
    expect(remote.stderr).toContain('has 3 partitions');

    const local = path.join(dir, 'local');
    expect((await cli(['topics', 'create', '--data-dir', local, '--topic', 'three', '--partitions', '3'])).code).toBe(0);
    const l = await cli(['topics', 'alter', '--data-dir', local, '--topic', 'three', '--partitions', '2']);
    expect(l.code).toBe(1);
    expect(l.stderr).toMatch(/partitions can only grow/i);
  });

  it('mirror status with Weir unreachable is a runtime error (exit 1), not a usage error', async () => {
    const r = await cli(['mirror', 'status', '--admin', '127.0.0.1:1']);
    expect(r.stderr).toContain("cannot reach Weir's admin listener at 127.0.0.1:1");
    expect(r.code).toBe(1);
  });
});

describe.concurrent('--config FILE on every command, --config-file kept as its alias', () => {
  const withConfig = (name: string, yaml: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, yaml);
    return file;
  };

  it.each(['--config', '--config-file'])('topics list / describe / delete take %s for store.dir', async (flag) => {
    const store = path.join(dir, `store${flag}`);
    const file = withConfig(`store${flag}.yaml`, `store:\n  dir: ${store}\n`);
    expect((await runWeir(['topics', 'create', '--topic', 'cfg', '--config-file', file], { cwd: dir })).code).toBe(0);
    const list = await runWeir(['topics', 'list', flag, file], { cwd: dir });
    expect(list).toMatchObject({ code: 0, stdout: 'cfg\n' });
    expect((await runWeir(['topics', 'describe', '--topic', 'cfg', flag, file], { cwd: dir })).stdout).toContain('Topic: cfg\t');
    expect((await runWeir(['topics', 'delete', '--topic', 'cfg', flag, file], { cwd: dir })).code).toBe(0);
  });

  it.each(['--config', '--config-file'])('users and kafka-users take %s for their files', async (flag) => {
    const file = withConfig(`users${flag}.yaml`, `mqtt:\n  password_file: ${path.join(dir, `u${flag}.passwd`)}\nkafka:\n  sasl_credentials_file: ${path.join(dir, `k${flag}.creds`)}\n`);
    const add = spawnWeir(['users', 'add', '--username', 'a', flag, file], { cwd: dir });
    add.stdin.end('secret\n');
    expect((await finished(add)).code).toBe(0);
    expect((await runWeir(['users', 'list', flag, file], { cwd: dir })).stdout).toBe('a\n');
    const kadd = spawnWeir(['kafka-users', 'add', '--username', 'k', flag, file], { cwd: dir });
    kadd.stdin.end('secret\n');
    expect((await finished(kadd)).code).toBe(0);
    expect((await runWeir(['users', 'list', '--kafka', flag, file], { cwd: dir })).stdout).toBe('k\n');
  });

  it.each(['--config', '--config-file'])('mirror status takes %s for admin.listen', async (flag) => {
    // (admin.listen itself is overridden by the tests' WEIR_ADMIN__LISTEN; a bad field shows the file is read.)
    const file = withConfig(`mirror${flag}.yaml`, 'admin:\n  lisen: 127.0.0.1:1\n');
    const r = await runWeir(['mirror', 'status', flag, file], { cwd: dir });
    expect(r.stderr).toContain('lisen');
  });

  it.each(['doctor', 'start'])('%s takes --config-file too', async (command) => {
    const r = await runWeir([command, '--config-file', path.join(dir, 'missing.yaml')], { cwd: dir });
    expect(r.stderr).not.toContain('unknown option');
    expect(r.stderr).toContain('missing.yaml');
  });

  it('both at once is a usage error', async () => {
    const r = await runWeir(['topics', 'list', '--config', 'a.yaml', '--config-file', 'b.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--config-file is another name for --config');
  });

  it('topics create/alter keep --config KEY=VALUE (kafka-topics.sh), and a file there points at --config-file', async () => {
    const r = await runWeir(['topics', 'create', '--topic', 'x', '--config', 'weir.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--config-file');
  });
});

describe('weir simulate', () => {
  it('--username/--password log in to a broker that wants them', async () => {
    const url = `mqtt://${fixture.weir.mqtt!}`;
    const args = ['simulate', '--url', url, '--sensors', '1', '--rate', '5', '--duration', '1s'];
    const anonymous = await cli(args);
    expect(anonymous.code).toBe(1);
    const r = await cli([...args, '--username', 'sim', '--password', PASSWD]);
    expect(r.stderr).not.toContain('refused');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ errors: 0 });
  }, 20_000);
});

describe('README CLI reference', () => {
  const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');

  it('lists every command in its table', () => {
    // First cells of the table rows: `weir groups list\|describe [--group G] …` covers both.
    const cells = [...readme.matchAll(/^\| `weir ([^`]*)`/gm)].map((m) => m[1]!.split(' '));
    for (const c of COMMANDS) {
      const covered = cells.some((words) => words[0] === c.path[0] && (c.path.length === 1 || (words[1] ?? '').split('\\|').includes(c.path[1]!)));
      expect(covered, ['weir', ...c.path].join(' ')).toBe(true);
    }
  });

  it('says how to get the weir command, and runs it one way', () => {
    expect(readme).toContain('npm link');
    expect(readme).toContain('npx weir');
    expect(readme).not.toMatch(/node dist\/src\/cli\/weir\.js (?!start)/);
  });

  it('says what topics describe shows with --bootstrap-server', () => {
    expect(readme).toMatch(/With `--bootstrap-server`, `weir topics describe`[\s\S]{0,200}no size/);
  });
});
