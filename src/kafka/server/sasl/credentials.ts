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
 * The file is a user file like the MQTT password file (src/users/user-file.ts): one user per
 * line, `#` comments, written whole and atomically with mode 0600 by `weir users --kafka`, reread
 * by a running Weir when its modification time changes.
 */
import { createHash, createHmac, pbkdf2 as pbkdf2Cb, randomBytes, timingSafeEqual } from 'node:crypto';
import { UserFile, type UserFileFormat } from '../../../users/user-file.js';

/** RFC 7677 section 4: at least 4096 iterations; Kafka's minimum for SCRAM-SHA-256 too. */
export const SCRAM_ITERATIONS = 4096;
const SALT_BYTES = 16;
const LINE_RE = /^\$scram-sha-256\$i=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

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

/** `username:$scram-sha-256$…` lines. ':' separates the name in the file; control characters never belong in a SASL name. */
export const KAFKA_CREDENTIALS: UserFileFormat<ScramCredential> = {
  what: 'Kafka credentials file',
  userLabel: 'Kafka username',
  usernamePattern: /^[^:\u0000-\u001f\u007f]{1,256}$/,
  usernameRule: "without ':' or control characters",
  expectedLine: 'username:$scram-sha-256$i=…',
  madeBy: 'weir users add --kafka',
  parseSecret: parseCredential,
  formatSecret: formatCredential,
};

/** The users of a credentials file, reread when it changes, and stand-ins for users it lacks. */
export class CredentialsFile extends UserFile<ScramCredential> {
  /** Fake credentials for unknown users, so the exchange looks the same whether a user exists. */
  private readonly fakeKey = randomBytes(32);

  constructor(file: string) {
    super(file, KAFKA_CREDENTIALS);
  }

  /** A stable salt for a user that does not exist (RFC 5802 section 9: don't reveal which users exist). */
  fakeCredential(username: string): ScramCredential {
    const k = hmac(this.fakeKey, username);
    return { salt: k.subarray(0, SALT_BYTES), iterations: SCRAM_ITERATIONS, storedKey: hmac(k, 'stored'), serverKey: hmac(k, 'server') };
  }
}
