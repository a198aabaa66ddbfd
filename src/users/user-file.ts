/**
 * A file of users and their salted secrets, one `username:secret` line per user (mosquitto's
 * layout), `#` comments and blank lines ignored. The MQTT password file and the Kafka SASL
 * credentials file are both one of these; each brings only its secret's form (a
 * `UserFileFormat`: scrypt hashes, SCRAM credentials) and the check it runs with it.
 *
 * The file is written whole and atomically (temp file + rename), readable by its owner only,
 * and a running Weir rereads it when its modification time changes, so `weir users` needs no
 * restart. A file that turns unreadable or invalid while Weir runs keeps the last good users:
 * locking everyone out over a half-edited file would be worse, and the next start reports it.
 */
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { WeirError } from '../errors.js';

/** What one kind of user file stores for each user, and how it is written on a line. */
export interface UserFileFormat<T> {
  /** The file, for messages: `MQTT password file`. */
  readonly what: string;
  /** The user, for messages: `username`, `Kafka username`. */
  readonly userLabel: string;
  /** Which usernames the file and its protocol can carry. */
  readonly usernamePattern: RegExp;
  /** `usernamePattern` in words, after "1 to 256 characters, ". */
  readonly usernameRule: string;
  /** A line as it should look, for a parse error: `username:$scrypt$…`. */
  readonly expectedLine: string;
  /** The command that makes entries, for a parse error. */
  readonly madeBy: string;
  /** The secret on a line, or undefined when it is not one. */
  parseSecret(text: string): T | undefined;
  formatSecret(secret: T): string;
}

export function validateUsername(format: UserFileFormat<unknown>, name: string): void {
  if (!format.usernamePattern.test(name)) {
    throw new WeirError('INVALID_ARGUMENT', `invalid ${format.userLabel} '${name}': 1 to 256 characters, ${format.usernameRule}`, { details: { username: name } });
  }
}

/** Parses the file's text; problems name the line. */
export function parseUserFile<T>(format: UserFileFormat<T>, text: string, file: string): Map<string, T> {
  const users = new Map<string, T>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const secret = colon > 0 ? format.parseSecret(line.slice(colon + 1)) : undefined;
    if (secret === undefined) {
      throw new WeirError('CONFIG_INVALID', `${file}:${i + 1}: expected "${format.expectedLine}" (made by ${format.madeBy})`, { details: { file, line: i + 1 } });
    }
    users.set(line.slice(0, colon), secret);
  });
  return users;
}

/** The users in `file`; none when it does not exist yet. */
export function readUserFile<T>(format: UserFileFormat<T>, file: string): Map<string, T> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new WeirError('CONFIG_UNREADABLE', `cannot read the ${format.what} ${file}: ${String(err)}`, { cause: err, details: { file } });
  }
  return parseUserFile(format, text, file);
}

/** Writes the whole file atomically (temp file + rename), readable by its owner only, users sorted. */
export function writeUserFile<T>(format: UserFileFormat<T>, file: string, users: ReadonlyMap<string, T>): void {
  const lines = [...users].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, secret]) => `${name}:${format.formatSecret(secret)}`);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, lines.length > 0 ? `${lines.join('\n')}\n` : '', { mode: 0o600 });
  renameSync(tmp, file);
}

/** The users of a file, reread when the file's modification time changes. */
export class UserFile<T> {
  private users: Map<string, T>;
  private mtimeMs: number;

  constructor(readonly file: string, readonly format: UserFileFormat<T>) {
    this.mtimeMs = this.currentMtime();
    this.users = readUserFile(format, file);
  }

  private currentMtime(): number {
    try {
      return statSync(this.file).mtimeMs;
    } catch {
      return -1;
    }
  }

  /** The user's secret, or undefined. A file that became unreadable keeps the last good users. */
  get(username: string): T | undefined {
    const mtime = this.currentMtime();
    if (mtime !== this.mtimeMs) {
      this.mtimeMs = mtime;
      try {
        this.users = readUserFile(this.format, this.file);
      } catch {
        // Keep serving with the users we had; the operator sees the error at the next start.
      }
    }
    return this.users.get(username);
  }

  get size(): number {
    return this.users.size;
  }
}
