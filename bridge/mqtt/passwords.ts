/**
 * The MQTT password file: one `username:hash` line per user (mosquitto's layout), where the hash
 * is salted scrypt in a self-describing form:
 *
 *   alice:$scrypt$N=16384,r=8,p=1$<salt, base64>$<64-byte key, base64>
 *
 * scrypt is in node:crypto (nothing to compile on a Pi) and is memory-hard; N=2^14, r=8 costs
 * 16 MiB (128·N·r) per check and is slow on purpose, so it runs on libuv's thread pool and the
 * event loop keeps serving other clients. `weir users add|remove|list` edits the file; reading, writing
 * and rereading it is the shared user file's (src/users/user-file.ts).
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { UserFile, type UserFileFormat } from '../../src/users/user-file.js';

const PARAMS = { N: 16_384, r: 8, p: 1 } as const;
const KEY_BYTES = 64;
const SALT_BYTES = 16;
const HASH_RE = /^\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

function scrypt(password: string | Buffer, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));
}

function scryptOptions(N: number, r: number, p: number): ScryptOptions {
  // Node's default maxmem (32 MiB) is just enough for 128·N·r; leave room for larger settings.
  return { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, KEY_BYTES, scryptOptions(PARAMS.N, PARAMS.r, PARAMS.p));
  return `$scrypt$N=${PARAMS.N},r=${PARAMS.r},p=${PARAMS.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string | Buffer, hash: string): Promise<boolean> {
  const m = HASH_RE.exec(hash);
  if (m === null) return false;
  const expected = Buffer.from(m[5]!, 'base64');
  const key = await scrypt(password, Buffer.from(m[4]!, 'base64'), expected.length, scryptOptions(Number(m[1]), Number(m[2]), Number(m[3])));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** `username:$scrypt$…` lines. Usernames are UTF-8 strings in MQTT [MQTT-3.1.3.4]; ':' and line breaks would break the file. */
export const MQTT_PASSWORDS: UserFileFormat<string> = {
  what: 'MQTT password file',
  userLabel: 'username',
  usernamePattern: /^[^:\r\n]{1,256}$/,
  usernameRule: "without ':' or line breaks",
  expectedLine: 'username:$scrypt$…',
  madeBy: 'weir users add',
  parseSecret: (text) => (HASH_RE.test(text) ? text : undefined),
  formatSecret: (hash) => hash,
};

/** The users of a password file, reread when it changes, and the check of a login against them. */
export class PasswordFile extends UserFile<string> {
  constructor(file: string) {
    super(file, MQTT_PASSWORDS);
  }

  /** Whether `username`/`password` are valid. */
  async check(username: string, password: Buffer): Promise<boolean> {
    const hash = this.get(username);
    if (hash === undefined) {
      // Spend the same time as a real check, so response time does not reveal which users exist.
      await verifyPassword(password, DUMMY_HASH);
      return false;
    }
    return verifyPassword(password, hash);
  }
}

const DUMMY_HASH = `$scrypt$N=${PARAMS.N},r=${PARAMS.r},p=${PARAMS.p}$${Buffer.alloc(SALT_BYTES).toString('base64')}$${Buffer.alloc(KEY_BYTES).toString('base64')}`;

