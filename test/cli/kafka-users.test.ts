/**
 * `weir users --kafka` (and its older name `weir kafka-users`) and the protocol commands'
 * --command-config against a real `weir start` with SASL on (kafka.sasl_credentials_file), each
 * command a child process.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KAFKA_CREDENTIALS, checkPassword } from '../../src/kafka/server/sasl/credentials.js';
import { readUserFile } from '../../src/users/user-file.js';
import { weirForFile } from './weir-fixture.js';

let users: string;
const fixture = weirForFile('weir-kafka-users-', async (dir, cli) => {
  users = path.join(dir, 'kafka.users');
  expect((await cli(['kafka-users', 'add', '--username', 'app', '--credentials-file', users], 'app-pass\n')).code).toBe(0);
  return { env: { WEIR_KAFKA__SASL_CREDENTIALS_FILE: users, WEIR_KAFKA__SASL_MECHANISMS: 'SCRAM-SHA-256' } };
});
const { cli } = fixture;

function properties(name: string, lines: string[]): string {
  const file = path.join(fixture.dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('weir users --kafka', () => {
  it('add writes a salted SCRAM credential (mode 0600) that checks the password; list and remove', async () => {
    const added = await cli(['users', 'add', '--kafka', '--username', 'second', '--credentials-file', users], 'other-pass\n');
    expect(added.code).toBe(0);
    expect(added.stderr).toContain(`Kafka user second saved in ${users}`);
    expect(statSync(users).mode & 0o777).toBe(0o600);
    expect(readFileSync(users, 'utf8')).not.toContain('other-pass');
    const c = readUserFile(KAFKA_CREDENTIALS, users).get('second')!;
    expect(await checkPassword(Buffer.from('other-pass'), c)).toBe(true);
    expect(await checkPassword(Buffer.from('other-pasS'), c)).toBe(false);
    expect((await cli(['users', 'list', '--credentials-file', users])).stdout).toBe('app\nsecond\n');
    expect((await cli(['kafka-users', 'remove', '--username', 'second', '--credentials-file', users])).code).toBe(0);
    expect((await cli(['kafka-users', 'list', '--credentials-file', users])).stdout).toBe('app\n');
    const missing = await cli(['kafka-users', 'remove', '--username', 'second', '--credentials-file', users]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no Kafka user 'second'");
  });

  it('without a file named anywhere it is a usage error', async () => {
    const r = await cli(['users', 'list', '--kafka']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('needs --credentials-file, or kafka.sasl_credentials_file in the config');
  });

  it('the MQTT file flag and --iterations do not mix with the other kind of file', async () => {
    const both = await cli(['users', 'list', '--kafka', '--password-file', users]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('with --kafka give --credentials-file');
    const mqtt = await cli(['users', 'add', '--username', 'x', '--iterations', '5000', '--password-file', path.join(fixture.dir, 'p')], 'pw\n');
    expect(mqtt.code).toBe(2);
    expect(mqtt.stderr).toContain('--iterations is for Kafka users');
  });

  it('kafka-users, the older name, is users with --kafka, help included', async () => {
    const help = await cli(['kafka-users', 'add', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: weir users add --username NAME');
    expect((await cli(['kafka-users', 'list', '--credentials-file', users])).stdout).toBe('app\n');
  });

  it('the file comes from kafka.sasl_credentials_file in --config-file too', async () => {
    const config = path.join(fixture.dir, 'weir.yaml');
    writeFileSync(config, `kafka:\n  sasl_credentials_file: ${users}\n`);
    expect((await cli(['kafka-users', 'list', '--config-file', config])).stdout).toBe('app\n');
  });
});

describe('the protocol commands with --command-config against a SASL listener', () => {
  it('produce, consume, topics and groups log in with SCRAM-SHA-256', async () => {
    const good = properties('good.properties', ['security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=SCRAM-SHA-256', 'sasl.username=app', 'sasl.password=app-pass']);
    const flags = ['--bootstrap-server', fixture.weir.kafka, '--command-config', good];
    expect((await cli(['topics', 'create', '--topic', 'secure', '--partitions', '2', ...flags])).code).toBe(0);
    const p = await cli(['produce', '--topic', 'secure', '--key-separator', '=', ...flags], 'a=1\nb=2\nc=3\n');
    expect(p.code, p.stderr).toBe(0);
    const c = await cli(['consume', '--topic', 'secure', '--group', 'sec', '--from-beginning', '--max-messages', '3', '--print-key', ...flags]);
    expect(c.stdout.split('\n').filter((l) => l !== '').sort()).toEqual(['a\t1', 'b\t2', 'c\t3']);
    const d = await cli(['groups', 'describe', '--group', 'sec', ...flags]);
    expect(d.stdout).toMatch(/\nsec +secure +0 /);
    expect((await cli(['topics', 'list', ...flags])).stdout).toBe('secure\n');
  });

  it('a wrong password: exit 1, the broker\'s refusal and what to check', async () => {
    const bad = properties('bad.properties', ['security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=SCRAM-SHA-256', 'sasl.username=app', 'sasl.password=nope']);
    const r = await cli(['produce', '--topic', 'secure', '--bootstrap-server', fixture.weir.kafka, '--command-config', bad], 'x\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Authentication failed');
    expect(r.stderr).toContain('weir users list --kafka');
  });

  it('no --command-config: the listener cuts the client off, and the command fails', async () => {
    const r = await cli(['topics', 'list', '--bootstrap-server', fixture.weir.kafka]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--command-config');
  }, 30_000);

  it('a mechanism the listener does not offer: exit 1, the broker error and which setting to change', async () => {
    const plain = properties('plain.properties', ['security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=PLAIN', 'sasl.username=app', 'sasl.password=app-pass']);
    const r = await cli(['topics', 'list', '--bootstrap-server', fixture.weir.kafka, '--command-config', plain]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('UNSUPPORTED_SASL_MECHANISM');
    expect(r.stderr).toContain('Set sasl.mechanism in --command-config to one of kafka.sasl_mechanisms');
  });
});
