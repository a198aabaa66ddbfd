/**
 * SCRAM credentials of Kafka users (RFC 5802 section 3, SHA-256 per RFC 7677), kept salted:
 * the file holds what the server needs to check a proof and prove itself, never the password
 * (Kafka's ScramCredential: salt, iterations, StoredKey, ServerKey):
 *
 *   app:$scram-sha-256$i=4096$<salt, base64>$<StoredKey, base64>$<ServerKey, base64>
 *
 * SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, i); ClientKey = HMAC(SaltedPassword,
 * "Client Key"); StoredKey = SHA-256(ClientKey); ServerKey = HMAC(SaltedPassword, "Server Key").
 * PLAIN logins are checked against the same entry (derive, compare StoredKey), so one file
 * serves both mechanisms. PBKDF2 runs on libuv's thread pool: the event loop keeps serving.
 *
 * The file follows the MQTT password file's conventions (bridge/mqtt/passwords.ts): one user per
 * line, `#` comments, written whole and atomically with mode 0600 by `weir kafka-users`, reread
 * by a running Weir when its modification time changes.
 */
import { createHash, createHmac, pbkdf2 as pbkdf2Cb, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { WeirError } from '../../../errors.js';

/** RFC 7677 section 4: at least 4096 iterations; Kafka's minimum for SCRAM-SHA-256 too. */
export const SCRAM_ITERATIONS = 4096;
const SALT_BYTES = 16;
const LINE_RE = /^\$scram-sha-256\$i=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;
/** ':' separates the name in the file; control characters never belong in a SASL name. */
const USERNAME_RE = /^[^:\u0000-\u001f\u007f]{1,256}$/;

export interface ScramCredential {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

export function hmac(key: Buffer, data: string | Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

export function saltedPassword(password: string | Buffer, salt: Buffer, iterations: number): Promise<Buffer> {
  return new Promise((resolve, reject) => pbkdf2Cb(password, salt, iterations, 32, 'sha256', (err, key) => (err ? reject(err) : resolve(key))));
}

export async function scramCredential(password: string, iterations = SCRAM_ITERATIONS, salt = randomBytes(SALT_BYTES)): Promise<ScramCredential> {
  const salted = await saltedPassword(password, salt, iterations);
  return { salt, iterations, storedKey: sha256(hmac(salted, 'Client Key')), serverKey: hmac(salted, 'Server Key') };
}

/** Whether `password` matches the credential (a PLAIN login). Constant time in the comparison. */
export async function checkPassword(password: Buffer, c: ScramCredential): Promise<boolean> {
  const salted = await saltedPassword(password, c.salt, c.iterations);
  const stored = sha256(hmac(salted, 'Client Key'));
  return stored.length === c.storedKey.length && timingSafeEqual(stored, c.storedKey);
}

export function formatCredential(c: ScramCredential): string {
  return `$scram-sha-256$i=${c.iterations}$${c.salt.toString('base64')}$${c.storedKey.toString('base64')}$${c.serverKey.toString('base64')}`;
}

export function parseCredential(text: string): ScramCredential | undefined {
  const m = LINE_RE.exec(text);
  if (m === null) return undefined;
  const iterations = Number(m[1]);
  if (!Number.isSafeInteger(iterations) || iterations < SCRAM_ITERATIONS) return undefined;
  return { iterations, salt: Buffer.from(m[2]!, 'base64'), storedKey: Buffer.from(m[3]!, 'base64'), serverKey: Buffer.from(m[4]!, 'base64') };
}

export function validateKafkaUsername(name: string): void {
  if (!USERNAME_RE.test(name)) {
    throw new WeirError('INVALID_ARGUMENT', `invalid Kafka username '${name}': 1 to 256 characters, without ':' or control characters`, { details: { username: name } });
  }
}

export function parseCredentialsFile(text: string, file: string): Map<string, ScramCredential> {
  const users = new Map<string, ScramCredential>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const credential = colon > 0 ? parseCredential(line.slice(colon + 1)) : undefined;
    if (credential === undefined) {
      throw new WeirError('CONFIG_INVALID', `${file}:${i + 1}: expected "username:$scram-sha-256$i=…" (made by weir kafka-users add)`, { details: { file, line: i + 1 } });
    }
    users.set(line.slice(0, colon), credential);
  });
  return users;
}

export function readCredentialsFile(file: string): Map<string, ScramCredential> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new WeirError('CONFIG_UNREADABLE', `cannot read the Kafka credentials file ${file}: ${String(err)}`, { cause: err, details: { file } });
  }
  return parseCredentialsFile(text, file);
}

/** Writes the whole file atomically (temp file + rename), readable by its owner only. */
export function writeCredentialsFile(file: string, users: ReadonlyMap<string, ScramCredential>): void {
  const lines = [...users].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, c]) => `${name}:${formatCredential(c)}`);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, lines.length > 0 ? `${lines.join('\n')}\n` : '', { mode: 0o600 });
  renameSync(tmp, file);
}

/** The users of a credentials file, reread when its modification time changes. */
export class CredentialsFile {
  private users: Map<string, ScramCredential>;
  private mtimeMs: number;
  /** Fake credentials for unknown users, so the exchange looks the same whether a user exists. */
  private readonly fakeKey = randomBytes(32);

  constructor(readonly file: string) {
    this.mtimeMs = this.currentMtime();
    this.users = readCredentialsFile(file);
  }

  private currentMtime(): number {
    try {
      return statSync(this.file).mtimeMs;
    } catch {
      return -1;
    }
  }

  /** The user's credential, or undefined. A file that became unreadable keeps the last good users. */
  get(username: string): ScramCredential | undefined {
    const mtime = this.currentMtime();
    if (mtime !== this.mtimeMs) {
      this.mtimeMs = mtime;
      try {
        this.users = readCredentialsFile(this.file);
      } catch {
        // Keep serving with the users we had; the operator sees the error at the next start.
      }
    }
    return this.users.get(username);
  }

  /** A stable salt for a user that does not exist (RFC 5802 section 9: don't reveal which users exist). */
  fakeCredential(username: string): ScramCredential {
    const k = hmac(this.fakeKey, username);
    return { salt: k.subarray(0, SALT_BYTES), iterations: SCRAM_ITERATIONS, storedKey: hmac(k, 'stored'), serverKey: hmac(k, 'server') };
  }

  get size(): number {
    return this.users.size;
  }
}
