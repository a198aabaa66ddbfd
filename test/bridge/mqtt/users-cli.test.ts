/**
 * `weir users add|remove|list` against a password file, as an operator runs them.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MQTT_PASSWORDS, verifyPassword } from '../../../bridge/mqtt/passwords.js';
import { readUserFile } from '../../../src/users/user-file.js';
import { finished, runWeir, spawnWeir } from '../../cli/helpers.js';
import { tempDir } from '../../helpers/store.js';

async function add(cwd: string, args: string[], password: string) {
  const child = spawnWeir(['users', 'add', ...args], { cwd });
  child.stdin.end(`${password}\n`);
  return finished(child);
}

describe('weir users', () => {
  it('adds, lists and removes users; the password comes from stdin and is stored hashed', async () => {
    const { dir, cleanup } = tempDir('weir-users-');
    try {
      const file = join(dir, 'mqtt.passwd');
      expect((await add(dir, ['--username', 'alice', '--password-file', file], 's3cret')).code).toBe(0);
      expect((await add(dir, ['--username', 'bob', '--password-file', 'mqtt.passwd'], 'other')).code).toBe(0);
      expect(readFileSync(file, 'utf8')).not.toContain('s3cret');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(await verifyPassword('s3cret', readUserFile(MQTT_PASSWORDS, file).get('alice')!)).toBe(true);

      const list = await runWeir(['users', 'list'], { cwd: dir, env: { WEIR_MQTT__PASSWORD_FILE: file } });
      expect(list.stdout).toBe('alice\nbob\n');

      expect((await runWeir(['users', 'remove', '--username', 'alice', '--password-file', file], { cwd: dir })).code).toBe(0);
      expect([...readUserFile(MQTT_PASSWORDS, file).keys()]).toEqual(['bob']);
      const missing = await runWeir(['users', 'remove', '--username', 'alice', '--password-file', file], { cwd: dir });
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain("no user 'alice'");
    } finally {
      cleanup();
    }
  });

  it('refuses a username with ":" and says where the password file is missing from', async () => {
    const { dir, cleanup } = tempDir('weir-users-');
    try {
      const bad = await add(dir, ['--username', 'a:b', '--password-file', 'p'], 'x');
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('invalid username');
      const none = await runWeir(['users', 'list'], { cwd: dir });
      expect(none.code).not.toBe(0);
      expect(none.stderr).toContain('--password-file');
    } finally {
      cleanup();
    }
  });
});
