/**
 * `weir kafka-users add|remove|list`: manage the Kafka SASL credentials file
 * (`kafka.sasl_credentials_file`), the way `weir users` manages the MQTT password file. Only
 * salted SCRAM-SHA-256 credentials are written, never the password; a running Weir rereads the
 * file when it changes, so no restart is needed.
 */
import path from 'node:path';
import { loadConfig } from '../../config/load.js';
import { WeirError } from '../../errors.js';
import { SCRAM_ITERATIONS, readCredentialsFile, scramCredential, validateKafkaUsername, writeCredentialsFile } from '../../kafka/server/sasl/credentials.js';
import { readPassword } from '../password-input.js';
import { intValue, stringValue, type CliContext, type CommandSpec, type OptionSpec, type OptionValues } from '../spec.js';

const FILE_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'credentials-file', type: 'string', placeholder: 'FILE', doc: 'The Kafka credentials file to edit (created if missing, mode 0600).',
    defaultDoc: 'kafka.sasl_credentials_file from --config or WEIR_KAFKA__SASL_CREDENTIALS_FILE',
  },
  { name: 'config-file', type: 'string', placeholder: 'FILE', doc: 'Weir\'s YAML config file, for kafka.sasl_credentials_file.' },
];
const USERNAME: OptionSpec = { name: 'username', type: 'string', placeholder: 'NAME', doc: 'The SASL username (no ":").', required: true };

function credentialsFile(values: OptionValues, ctx: CliContext, command: readonly string[]): string {
  const explicit = stringValue(values, 'credentials-file');
  if (explicit !== undefined) return path.resolve(ctx.cwd, explicit);
  const config = loadConfig({ file: stringValue(values, 'config-file'), env: ctx.env, cwd: ctx.cwd });
  if (config.kafka.sasl_credentials_file === '') {
    throw new WeirError('USAGE', `'weir ${command.join(' ')}' needs --credentials-file, or kafka.sasl_credentials_file in the config`);
  }
  return config.kafka.sasl_credentials_file;
}

export const kafkaUsersAdd: CommandSpec = {
  path: ['kafka-users', 'add'],
  summary: 'Add a Kafka SASL user, or set a user\'s password',
  description: [
    'Derives salted SCRAM-SHA-256 credentials (RFC 5802/7677: salt, iteration count, StoredKey, ServerKey) from the password and writes them to the credentials file, replacing the user\'s old ones. The password itself is not stored; the same entry checks PLAIN logins. The password is read from stdin (without echo on a terminal).',
  ],
  options: [
    USERNAME,
    { name: 'iterations', type: 'string', placeholder: 'N', doc: 'PBKDF2 iterations (at least 4096, RFC 7677).', defaultDoc: String(SCRAM_ITERATIONS) },
    ...FILE_OPTIONS,
  ],
  examples: [
    'weir kafka-users add --username app --credentials-file /etc/weir/kafka.users',
    'printf "%s\\n" "$PW" | weir kafka-users add --username app --config /etc/weir/weir.yaml',
  ],
  async run(values, ctx) {
    const username = stringValue(values, 'username')!;
    validateKafkaUsername(username);
    const iterations = intValue(values, 'iterations', SCRAM_ITERATIONS, 10_000_000, kafkaUsersAdd) ?? SCRAM_ITERATIONS;
    const file = credentialsFile(values, ctx, kafkaUsersAdd.path);
    const users = readCredentialsFile(file);
    const password = await readPassword(ctx);
    if (password === '') throw new WeirError('USAGE', 'the password is empty');
    users.set(username, await scramCredential(password, iterations));
    writeCredentialsFile(file, users);
    ctx.stderr.write(`Kafka user ${username} saved in ${file}\n`);
    return 0;
  },
};

export const kafkaUsersRemove: CommandSpec = {
  path: ['kafka-users', 'remove'],
  summary: 'Remove a Kafka SASL user',
  description: ['Removes the user from the credentials file. Connections already authenticated stay open until they reconnect.'],
  options: [USERNAME, ...FILE_OPTIONS],
  examples: ['weir kafka-users remove --username app --credentials-file /etc/weir/kafka.users'],
  async run(values, ctx) {
    const username = stringValue(values, 'username')!;
    const file = credentialsFile(values, ctx, kafkaUsersRemove.path);
    const users = readCredentialsFile(file);
    if (!users.delete(username)) throw new WeirError('INVALID_ARGUMENT', `no Kafka user '${username}' in ${file}`, { details: { username, file } });
    writeCredentialsFile(file, users);
    ctx.stderr.write(`Kafka user ${username} removed from ${file}\n`);
    return 0;
  },
};

export const kafkaUsersList: CommandSpec = {
  path: ['kafka-users', 'list'],
  summary: 'List the Kafka SASL users, one name per line',
  description: ['Prints every username in the credentials file, sorted, one per line.'],
  options: [...FILE_OPTIONS],
  examples: ['weir kafka-users list --credentials-file /etc/weir/kafka.users'],
  async run(values, ctx) {
    const names = [...readCredentialsFile(credentialsFile(values, ctx, kafkaUsersList.path)).keys()].sort();
    if (names.length > 0) ctx.stdout.write(`${names.join('\n')}\n`);
    return 0;
  },
};
