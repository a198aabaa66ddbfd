/**
 * `weir users add|remove|list`: manage the MQTT password file (`mqtt.password_file`). A running
 * Weir rereads the file when it changes, so no restart is needed.
 *
 * The password is never a flag (it would show in `ps` and shell history): it is read from stdin,
 * without echo when stdin is a terminal, or as the first line of piped input.
 */
import path from 'node:path';
import { hashPassword, readPasswordFile, validateUsername, writePasswordFile } from '../../../bridge/mqtt/passwords.js';
import { loadConfig } from '../../config/load.js';
import { WeirError } from '../../errors.js';
import { readPassword } from '../password-input.js';
import { stringValue, type CliContext, type CommandSpec, type OptionSpec, type OptionValues } from '../spec.js';

const FILE_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'password-file', type: 'string', placeholder: 'FILE', doc: 'The MQTT password file to edit (created if missing, mode 0600).',
    defaultDoc: 'mqtt.password_file from --config or WEIR_MQTT__PASSWORD_FILE',
  },
  { name: 'config-file', type: 'string', placeholder: 'FILE', doc: 'Weir\'s YAML config file, for mqtt.password_file.' },
];
const USERNAME: OptionSpec = { name: 'username', type: 'string', placeholder: 'NAME', doc: 'The MQTT username (no ":").', required: true };

function passwordFile(values: OptionValues, ctx: CliContext, command: readonly string[]): string {
  const explicit = stringValue(values, 'password-file');
  if (explicit !== undefined) return path.resolve(ctx.cwd, explicit);
  const config = loadConfig({ file: stringValue(values, 'config-file'), env: ctx.env, cwd: ctx.cwd });
  if (config.mqtt.password_file === '') {
    throw new WeirError('USAGE', `'weir ${command.join(' ')}' needs --password-file, or mqtt.password_file in the config`);
  }
  return config.mqtt.password_file;
}

export const usersAdd: CommandSpec = {
  path: ['users', 'add'],
  summary: 'Add an MQTT user, or set a user\'s password',
  description: ['Hashes the password with salted scrypt and writes it to the password file, replacing the user\'s old password if there was one. The password is read from stdin (without echo on a terminal).'],
  options: [USERNAME, ...FILE_OPTIONS],
  examples: ['weir users add --username sensor-17 --password-file /etc/weir/mqtt.passwd', 'printf "%s\\n" "$PW" | weir users add --username app --config /etc/weir/weir.yaml'],
  async run(values, ctx) {
    const username = stringValue(values, 'username')!;
    validateUsername(username);
    const file = passwordFile(values, ctx, usersAdd.path);
    const users = readPasswordFile(file);
    const password = await readPassword(ctx);
    if (password === '') throw new WeirError('USAGE', 'the password is empty');
    users.set(username, await hashPassword(password));
    writePasswordFile(file, users);
    ctx.stderr.write(`user ${username} saved in ${file}\n`);
    return 0;
  },
};

export const usersRemove: CommandSpec = {
  path: ['users', 'remove'],
  summary: 'Remove an MQTT user',
  description: ['Removes the user from the password file. Connections already open stay open until they reconnect.'],
  options: [USERNAME, ...FILE_OPTIONS],
  examples: ['weir users remove --username sensor-17 --password-file /etc/weir/mqtt.passwd'],
  async run(values, ctx) {
    const username = stringValue(values, 'username')!;
    const file = passwordFile(values, ctx, usersRemove.path);
    const users = readPasswordFile(file);
    if (!users.delete(username)) throw new WeirError('INVALID_ARGUMENT', `no user '${username}' in ${file}`, { details: { username, file } });
    writePasswordFile(file, users);
    ctx.stderr.write(`user ${username} removed from ${file}\n`);
    return 0;
  },
};

export const usersList: CommandSpec = {
  path: ['users', 'list'],
  summary: 'List the MQTT users, one name per line',
  description: ['Prints every username in the password file, sorted, one per line.'],
  options: [...FILE_OPTIONS],
  examples: ['weir users list --password-file /etc/weir/mqtt.passwd'],
  async run(values, ctx) {
    const names = [...readPasswordFile(passwordFile(values, ctx, usersList.path)).keys()].sort();
    if (names.length > 0) ctx.stdout.write(`${names.join('\n')}\n`);
    return 0;
  },
};
