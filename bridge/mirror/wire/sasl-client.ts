/**
 * Client sides of the SASL mechanisms the mirror logs in with: PLAIN (RFC 4616) and
 * SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802; RFC 7677 for SHA-256; Kafka's KIP-84 for both).
 *
 * Each is a small state machine: `first()` is the token the client opens with; `next()` takes
 * each token the broker answers and returns the client's next token, or undefined once the
 * exchange is complete. A token that breaks the mechanism (for SCRAM: a nonce that is not ours,
 * too few iterations, a server signature that does not match) throws SaslClientError, so a
 * broker that does not hold the user's credential cannot pass for one that does.
 *
 * Names and passwords are sent as UTF-8 without SASLprep (RFC 4013), as Kafka's own client does
 * (ScramFormatter.normalize), so what a Kafka user was created with is what matches.
 */
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';

export type SaslMechanismName = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export interface SaslCredentials {
  mechanism: SaslMechanismName;
  username: string;
  password: string;
}

export interface SaslClient {
  readonly mechanism: SaslMechanismName;
  /** The client's opening token. */
  first(): Buffer;
  /** The broker's token in, the client's next token out; undefined when the exchange is done. */
  next(serverToken: Buffer): Promise<Buffer | undefined>;
}

/** The broker's side of the exchange was not what the mechanism allows (or it said no, `e=`). */
export class SaslClientError extends Error {
  override name = 'SaslClientError';
}

/** RFC 7677 section 4 (and Kafka's ScramMechanism minimum): fewer iterations make a stolen verifier cheap to crack. */
export const SCRAM_MIN_ITERATIONS = 4096;
/**
 * Kafka stores no SCRAM credential with more than 16384 iterations (ScramMechanism's maximum);
 * far more is not a Kafka broker, and PBKDF2 on libuv's thread pool cannot be cancelled when the
 * connect times out, so a hostile count would tie a pool thread up for minutes.
 */
export const SCRAM_MAX_ITERATIONS = 65_536;

/** A client for `creds.mechanism`; `clientNonce` is for tests that replay published exchanges. */
export function saslClient(creds: SaslCredentials, clientNonce?: string): SaslClient {
  return creds.mechanism === 'PLAIN' ? plainClient(creds) : scramClient(creds, creds.mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512', clientNonce);
}

/** RFC 4616 section 2: [authzid] NUL authcid NUL passwd, with no authzid (act as oneself). */
function plainClient(creds: SaslCredentials): SaslClient {
  let sent = false;
  return {
    mechanism: 'PLAIN',
    first() {
      sent = true;
      return Buffer.concat([Buffer.from([0]), Buffer.from(creds.username, 'utf8'), Buffer.from([0]), Buffer.from(creds.password, 'utf8')]);
    },
    async next() {
      // The broker's (empty) answer to the one message: nothing more to say.
      if (!sent) throw new SaslClientError('PLAIN: the broker answered before the client spoke');
      return undefined;
    },
  };
}

/** saslname (RFC 5802 section 5.1): ',' and '=' are escaped as =2C and =3D. */
export function escapeSaslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** A SCRAM message's attributes (RFC 5802 section 7): `a=value` separated by commas, in order. */
export function parseScramAttributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    if (part.length < 2 || part[1] !== '=') throw new SaslClientError(`SCRAM: malformed attribute ${JSON.stringify(part.slice(0, 20))} from the broker`);
    if (!out.has(part[0]!)) out.set(part[0]!, part.slice(2));
  }
  return out;
}

export interface ScramKeys {
  clientKey: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** RFC 5802 section 3: SaltedPassword = Hi(password, salt, i) (PBKDF2, on libuv's thread pool), and the keys from it. */
export function scramKeys(hash: 'sha256' | 'sha512', password: string, salt: Buffer, iterations: number): Promise<ScramKeys> {
  const hashBytes = hash === 'sha256' ? 32 : 64;
  return new Promise((resolve, reject) =>
    pbkdf2(Buffer.from(password, 'utf8'), salt, iterations, hashBytes, hash, (err, salted) => {
      if (err) return reject(err);
      const clientKey = createHmac(hash, salted).update('Client Key').digest();
      const storedKey = createHash(hash).update(clientKey).digest();
      const serverKey = createHmac(hash, salted).update('Server Key').digest();
      resolve({ clientKey, storedKey, serverKey });
    }),
  );
}

/**
 * RFC 5802 section 3 and 5, without channel binding (gs2 header "n,,": Kafka offers none):
 *   client-first  n,,n=<user>,r=<client nonce>
 *   server-first  r=<client nonce + server nonce>,s=<salt>,i=<iterations>
 *   client-final  c=biws,r=<nonce>,p=<ClientKey XOR HMAC(StoredKey, AuthMessage)>
 *   server-final  v=<HMAC(ServerKey, AuthMessage)>   or   e=<error>
 */
function scramClient(creds: SaslCredentials, hash: 'sha256' | 'sha512', clientNonce = randomBytes(24).toString('base64')): SaslClient {
  const mechanism = creds.mechanism;
  const gs2Header = 'n,,';
  const clientFirstBare = `n=${escapeSaslName(creds.username)},r=${clientNonce}`;
  let state: 'first' | 'server-first' | 'server-final' | 'done' = 'first';
  let expectedServerSignature: Buffer | undefined;
  const fail = (why: string): SaslClientError => new SaslClientError(`${mechanism}: ${why}`);
  return {
    mechanism,
    first() {
      state = 'server-first';
      return Buffer.from(gs2Header + clientFirstBare, 'utf8');
    },
    async next(serverToken) {
      const text = serverToken.toString('utf8');
      if (state === 'server-first') {
        const attrs = parseScramAttributes(text);
        if (attrs.has('m')) throw fail('the broker requires a SCRAM extension this client does not know');
        if (attrs.has('e')) throw fail(`the broker refused: ${attrs.get('e')}`);
        const nonce = attrs.get('r');
        const saltText = attrs.get('s');
        const iterations = Number(attrs.get('i'));
        // The combined nonce must extend ours (section 5.1): else the answer is not to this exchange.
        if (nonce === undefined || !nonce.startsWith(clientNonce) || nonce.length === clientNonce.length) throw fail('the broker\'s nonce does not extend the client\'s');
        if (saltText === undefined || saltText === '') throw fail('the broker sent no salt');
        if (!Number.isSafeInteger(iterations) || iterations < SCRAM_MIN_ITERATIONS) throw fail(`the broker asks for ${attrs.get('i')} iterations, fewer than the minimum ${SCRAM_MIN_ITERATIONS}`);
        if (iterations > SCRAM_MAX_ITERATIONS) throw fail(`the broker asks for ${iterations} iterations, more than the maximum ${SCRAM_MAX_ITERATIONS}`);
        const keys = await scramKeys(hash, creds.password, Buffer.from(saltText, 'base64'), iterations);
        const clientFinalWithoutProof = `c=${Buffer.from(gs2Header).toString('base64')},r=${nonce}`;
        const authMessage = `${clientFirstBare},${text},${clientFinalWithoutProof}`;
        const clientSignature = createHmac(hash, keys.storedKey).update(authMessage).digest();
        const proof = Buffer.alloc(clientSignature.length);
        for (let i = 0; i < proof.length; i++) proof[i] = keys.clientKey[i]! ^ clientSignature[i]!;
        expectedServerSignature = createHmac(hash, keys.serverKey).update(authMessage).digest();
        state = 'server-final';
        return Buffer.from(`${clientFinalWithoutProof},p=${proof.toString('base64')}`, 'utf8');
      }
      if (state === 'server-final') {
        state = 'done';
        const attrs = parseScramAttributes(text);
        if (attrs.has('e')) throw fail(`the broker refused: ${attrs.get('e')}`);
        const signature = Buffer.from(attrs.get('v') ?? '', 'base64');
        // Section 9: the server proves it knows ServerKey; without this check any server would do.
        if (signature.length !== expectedServerSignature!.length || !timingSafeEqual(signature, expectedServerSignature!)) {
          throw fail('the broker\'s server signature does not match: it does not hold this user\'s credential');
        }
        return undefined;
      }
      throw fail(`a broker token when none was expected (state ${state})`);
    },
  };
}
