/**
 * The MQTT password file: one `username:hash` line per user (mosquitto's layout), where the hash
 * is salted scrypt in a self-describing form:
 *
 *   alice:$scrypt$N=16384,r=8,p=1$<salt, base64>$<64-byte key, base64>
 *
 * scrypt is in node:crypto (nothing to compile on a Pi) and is memory-hard; N=2^14, r=8 costs
 * 16 MiB and roughly 50 ms on a Pi 4 per check, run on libuv's thread pool so the event loop
 * keeps serving other clients. `weir users add|remove|list` edits the file; a running Weir
 * rereads it when its modification time changes, so a change needs no restart.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { WeirError } from '../../src/errors.js';

const PARAMS = { N: 16_384, r: 8, p: 1 } as const;
const KEY_BYTES = 64;
const SALT_BYTES = 16;
const HASH_RE = /^\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;
/** Usernames are UTF-8 strings in MQTT [MQTT-3.1.3.4]; ':' and line breaks would break the file. */
const USERNAME_RE = /^[^:\r\n]{1,256}$/;

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

export function validateUsername(name: string): void {
  if (!USERNAME_RE.test(name)) {
    throw new WeirError('INVALID_ARGUMENT', `invalid username '${name}': 1 to 256 characters, without ':' or line breaks`, { details: { username: name } });
  }
}

/** Parses the file's text; problems name the line. */
export function parsePasswordFile(text: string, file: string): Map<string, string> {
  const users = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (colon <= 0 || !HASH_RE.test(hash)) {
      throw new WeirError('CONFIG_INVALID', `${file}:${i + 1}: expected "username:$scrypt$…" (made by weir users add)`, { details: { file, line: i + 1 } });
    }
    users.set(name, hash);
  });
  return users;
}

export function readPasswordFile(file: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new WeirError('CONFIG_UNREADABLE', `cannot read the MQTT password file ${file}: ${String(err)}`, { cause: err, details: { file } });
  }
  return parsePasswordFile(text, file);
}

/** Writes the whole file atomically (temp file + rename), readable by its owner only. */
export function writePasswordFile(file: string, users: ReadonlyMap<string, string>): void {
  const lines = [...users].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, hash]) => `${name}:${hash}`);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, lines.length > 0 ? `${lines.join('\n')}\n` : '', { mode: 0o600 });
  renameSync(tmp, file);
}

/** The users of a password file, reread when the file's modification time changes. */
export class PasswordFile {
  private users: Map<string, string>;
  private mtimeMs: number;

  constructor(readonly file: string) {
    this.mtimeMs = this.currentMtime();
    this.users = readPasswordFile(file);
  }

  private currentMtime(): number {
    try {
      return statSync(this.file).mtimeMs;
    } catch {
      return -1;
    }
  }

  /** Whether `username`/`password` are valid. A file that became unreadable keeps the last good users. */
  async check(username: string, password: Buffer): Promise<boolean> {
    const mtime = this.currentMtime();
    if (mtime !== this.mtimeMs) {
      this.mtimeMs = mtime;
      try {
        this.users = readPasswordFile(this.file);
      } catch {
        // Keep serving with the users we had; the operator sees the error at the next start.
      }
    }
    const hash = this.users.get(username);
    if (hash === undefined) {
      // Spend the same time as a real check, so response time does not reveal which users exist.
      await verifyPassword(password, DUMMY_HASH);
      return false;
    }
    return verifyPassword(password, hash);
  }

  get size(): number {
    return this.users.size;
  }
}

const DUMMY_HASH = `$scrypt$N=${PARAMS.N},r=${PARAMS.r},p=${PARAMS.p}$${Buffer.alloc(SALT_BYTES).toString('base64')}$${Buffer.alloc(KEY_BYTES).toString('base64')}`;

