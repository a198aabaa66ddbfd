/**
 * `weir users add|remove|list`: manage the MQTT password file (`mqtt.password_file`), or with
 * `--kafka` the Kafka SASL credentials file (`kafka.sasl_credentials_file`). Both are user files
 * (src/users/user-file.ts); they differ only in what a line stores: a salted scrypt hash, or
 * salted SCRAM-SHA-256 credentials (never the password). `weir kafka-users …`, the older name,
 * is `weir users … --kafka` (src/cli/run.ts). A running Weir rereads either file when it
 * changes, so no restart is needed.
 *
 * The password is never a flag (it would show in `ps` and shell history): it is read from stdin,
 * without echo when stdin is a terminal, or as the first line of piped input.
 */
import path from 'node:path';
import { MQTT_PASSWORDS, hashPassword } from '../../../bridge/mqtt/passwords.js';
import { loadConfig } from '../../config/load.js';
import type { WeirConfig } from '../../config/schema.js';
import { WeirError } from '../../errors.js';
import { KAFKA_CREDENTIALS, SCRAM_ITERATIONS, scramCredential, type ScramCredential } from '../../kafka/server/sasl/credentials.js';
import { readUserFile, validateUsername, writeUserFile, type UserFileFormat } from '../../users/user-file.js';
import { readPassword } from '../password-input.js';
import { intValue, stringValue, type CliContext, type CommandSpec, type OptionSpec, type OptionValues } from '../spec.js';

/** One of the two user files, and what the command needs to know of it. */
interface UserKind<T> {
  format: UserFileFormat<T>;
  /** The user in messages: `user alice saved`, `Kafka user app saved`. */
  label: string;
  /** The flag that names this file. */
  fileFlag: string;
  /** The config field that names it otherwise. */
  configKey: string;
  configured(config: WeirConfig): string;
  secret(password: string, values: OptionValues): Promise<T>;
}

const MQTT: UserKind<string> = {
  format: MQTT_PASSWORDS,
  label: 'user',
  fileFlag: 'password-file',
  configKey: 'mqtt.password_file',
  configured: (config) => config.mqtt.password_file,
  secret: (password) => hashPassword(password),
};

const KAFKA: UserKind<ScramCredential> = {
  format: KAFKA_CREDENTIALS,
  label: 'Kafka user',
  fileFlag: 'credentials-file',
  configKey: 'kafka.sasl_credentials_file',
  configured: (config) => config.kafka.sasl_credentials_file,
  secret: (password, values) => scramCredential(password, intValue(values, 'iterations', SCRAM_ITERATIONS, 10_000_000, usersAdd) ?? SCRAM_ITERATIONS),
};

const FILE_OPTIONS: readonly OptionSpec[] = [
  { name: 'kafka', type: 'boolean', doc: 'Edit the Kafka SASL credentials file (salted SCRAM-SHA-256, for SCRAM-SHA-256 and PLAIN logins) instead of the MQTT password file.' },
  {
    name: 'password-file', type: 'string', placeholder: 'FILE', doc: 'The MQTT password file to edit (created if missing, mode 0600).',
    defaultDoc: 'mqtt.password_file from --config or WEIR_MQTT__PASSWORD_FILE',
  },
  {
    name: 'credentials-file', type: 'string', placeholder: 'FILE', doc: 'The Kafka credentials file to edit (created if missing, mode 0600); implies --kafka.',
    defaultDoc: 'kafka.sasl_credentials_file from --config or WEIR_KAFKA__SASL_CREDENTIALS_FILE',
  },
  { name: 'config-file', type: 'string', placeholder: 'FILE', doc: 'Weir\'s YAML config file, for mqtt.password_file (or kafka.sasl_credentials_file with --kafka).' },
];
const USERNAME: OptionSpec = { name: 'username', type: 'string', placeholder: 'NAME', doc: 'The MQTT or SASL username (no ":").', required: true };

function kindOf(values: OptionValues, command: readonly string[]): UserKind<unknown> {
  const kafka = values.kafka === true || values['credentials-file'] !== undefined;
  if (kafka && values['password-file'] !== undefined) {
    throw new WeirError('USAGE', `'weir ${command.join(' ')}': --password-file names the MQTT password file; with --kafka give --credentials-file`);
  }
  if (!kafka && values.iterations !== undefined) {
    throw new WeirError('USAGE', `'weir ${command.join(' ')}': --iterations is for Kafka users (SCRAM); add --kafka`);
  }
  return kafka ? KAFKA : MQTT;
}

function userFile(kind: UserKind<unknown>, values: OptionValues, ctx: CliContext, command: readonly string[]): string {
  const explicit = stringValue(values, kind.fileFlag);
  if (explicit !== undefined) return path.resolve(ctx.cwd, explicit);
  const file = kind.configured(loadConfig({ file: stringValue(values, 'config-file'), env: ctx.env, cwd: ctx.cwd }));
  if (file === '') {
    throw new WeirError('USAGE', `'weir ${command.join(' ')}' needs --${kind.fileFlag}, or ${kind.configKey} in the config`);
  }
  return file;
}

export const usersAdd: CommandSpec = {
  path: ['users', 'add'],
  summary: 'Add an MQTT or Kafka user, or set a user\'s password',
  description: [
    'Hashes the password with salted scrypt and writes it to the MQTT password file, replacing the user\'s old password if there was one. The password is read from stdin (without echo on a terminal).',
    'With --kafka, derives salted SCRAM-SHA-256 credentials (RFC 5802/7677: salt, iteration count, StoredKey, ServerKey) and writes them to the Kafka credentials file instead. The password itself is not stored; the same entry checks PLAIN logins.',
  ],
  options: [
    USERNAME,
    ...FILE_OPTIONS,
    { name: 'iterations', type: 'string', placeholder: 'N', doc: 'With --kafka: PBKDF2 iterations (at least 4096, RFC 7677).', defaultDoc: String(SCRAM_ITERATIONS) },
  ],
  examples: [
    'weir users add --username sensor-17 --password-file /etc/weir/mqtt.passwd',
    'printf "%s\\n" "$PW" | weir users add --username app --config /etc/weir/weir.yaml',
    'weir users add --kafka --username app --credentials-file /etc/weir/kafka.users',
  ],
  async run(values, ctx) {
    const kind = kindOf(values, usersAdd.path);
    const username = stringValue(values, 'username')!;
    validateUsername(kind.format, username);
    const file = userFile(kind, values, ctx, usersAdd.path);
    const users = readUserFile(kind.format, file);
    const password = await readPassword(ctx);
    if (password === '') throw new WeirError('USAGE', 'the password is empty');
    users.set(username, await kind.secret(password, values));
    writeUserFile(kind.format, file, users);
    ctx.stderr.write(`${kind.label} ${username} saved in ${file}\n`);
    return 0;
  },
};

export const usersRemove: CommandSpec = {
  path: ['users', 'remove'],
  summary: 'Remove an MQTT or Kafka user',
  description: ['Removes the user from the password file (or with --kafka, the credentials file). Connections already open stay open until they reconnect.'],
  options: [USERNAME, ...FILE_OPTIONS],
  examples: ['weir users remove --username sensor-17 --password-file /etc/weir/mqtt.passwd', 'weir users remove --kafka --username app --config /etc/weir/weir.yaml'],
  async run(values, ctx) {
    const kind = kindOf(values, usersRemove.path);
    const username = stringValue(values, 'username')!;
    const file = userFile(kind, values, ctx, usersRemove.path);
    const users = readUserFile(kind.format, file);
    if (!users.delete(username)) throw new WeirError('INVALID_ARGUMENT', `no ${kind.label} '${username}' in ${file}`, { details: { username, file } });
    writeUserFile(kind.format, file, users);
    ctx.stderr.write(`${kind.label} ${username} removed from ${file}\n`);
    return 0;
  },
};

export const usersList: CommandSpec = {
  path: ['users', 'list'],
  summary: 'List the MQTT (or Kafka) users, one name per line',
  description: ['Prints every username in the password file (or with --kafka, the credentials file), sorted, one per line.'],
  options: [...FILE_OPTIONS],
  examples: ['weir users list --password-file /etc/weir/mqtt.passwd', 'weir users list --kafka --config /etc/weir/weir.yaml'],
  async run(values, ctx) {
    const kind = kindOf(values, usersList.path);
    const names = [...readUserFile(kind.format, userFile(kind, values, ctx, usersList.path)).keys()].sort();
    if (names.length > 0) ctx.stdout.write(`${names.join('\n')}\n`);
    return 0;
  },
};
