/**
 * Server sides of the SASL mechanisms the Kafka listener offers: PLAIN (RFC 4616) and
 * SCRAM-SHA-256 (RFC 5802 with RFC 7677's hash). Each is a small state machine fed the client's
 * tokens in order; it ends with the authenticated principal or throws
 * SASL_AUTHENTICATION_FAILED, after which the listener closes the connection.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { WeirError } from '../../../errors.js';
import { checkPassword, hmac, sha256, type CredentialsFile, type ScramCredential } from './credentials.js';

export const SASL_MECHANISMS = ['SCRAM-SHA-256', 'PLAIN'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface SaslStep {
  /** Token to send back (empty when the mechanism has nothing to say). */
  response: Buffer;
  /** Set when the exchange is complete and the client is who it claims. */
  principal?: string;
}

export interface SaslExchange {
  step(token: Buffer): Promise<SaslStep>;
}

function failed(mechanism: string, why: string): WeirError {
  // The client hears only that authentication failed (no hint which part was wrong); `why` is logged.
  return new WeirError('SASL_AUTHENTICATION_FAILED', `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`, {
    details: { why },
  });
}

export function createExchange(mechanism: SaslMechanism, users: CredentialsFile): SaslExchange {
  return mechanism === 'PLAIN' ? plainExchange(users) : scramExchange(users);
}

/** RFC 4616: one message, [authzid] NUL authcid NUL passwd. */
function plainExchange(users: CredentialsFile): SaslExchange {
  let done = false;
  return {
    async step(token) {
      if (done) throw failed('PLAIN', 'a second PLAIN message');
      done = true;
      const first = token.indexOf(0);
      const second = first < 0 ? -1 : token.indexOf(0, first + 1);
      if (second < 0) throw failed('PLAIN', 'malformed PLAIN message');
      const authzid = token.subarray(0, first).toString('utf8');
      const username = token.subarray(first + 1, second).toString('utf8');
      const password = token.subarray(second + 1);
      // Kafka's PlainSaslServer: acting as another identity is not allowed.
      if (authzid !== '' && authzid !== username) throw failed('PLAIN', 'authorization id differs from the user name');
      const credential = users.get(username);
      const ok = await checkPassword(password, credential ?? users.fakeCredential(username));
      if (credential === undefined || !ok) throw failed('PLAIN', credential === undefined ? `unknown user ${username}` : `wrong password for ${username}`);
      return { response: Buffer.alloc(0), principal: username };
    },
  };
}

/** SCRAM attribute list `a=1,b=2` (RFC 5802 section 7), in order. */
function attributes(text: string): [string, string][] {
  return text.split(',').map((part) => {
    const eq = part.indexOf('=');
    if (eq !== 1) throw failed('SCRAM-SHA-256', `malformed SCRAM attribute ${JSON.stringify(part.slice(0, 20))}`);
    return [part[0]!, part.slice(2)];
  });
}

/** saslname (RFC 5802 section 5.1): `=2C` is ',' and `=3D` is '='; any other '=' is malformed. */
function saslName(raw: string): string {
  if (/=(?!2C|3D)/.test(raw)) throw failed('SCRAM-SHA-256', 'malformed user name');
  return raw.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

function scramExchange(users: CredentialsFile): SaslExchange {
  const M = 'SCRAM-SHA-256';
  let state: 'first' | 'final' | 'done' = 'first';
  let username = '';
  let known = false;
  let credential: ScramCredential;
  let gs2Header = '';
  let clientFirstBare = '';
  let serverFirst = '';
  let nonce = '';
  return {
    async step(token) {
      const text = token.toString('utf8');
      if (state === 'first') {
        state = 'final';
        // gs2-header: "n,," or "n,a=authzid," — channel binding is not offered ('p' refused, 'y' fine).
        const m = /^([ny]),(a=[^,]*)?,(.*)$/.exec(text);
        if (m === null) throw failed(M, 'client-first-message without a valid gs2 header (channel binding is not supported)');
        gs2Header = `${m[1]},${m[2] ?? ''},`;
        clientFirstBare = m[3]!;
        const attrs = attributes(clientFirstBare);
        if (attrs[0]?.[0] === 'm') throw failed(M, 'mandatory SCRAM extension not supported');
        if (attrs[0]?.[0] !== 'n' || attrs[1]?.[0] !== 'r' || attrs[1][1] === '') throw failed(M, 'client-first-message needs n= then r=');
        username = saslName(attrs[0][1]);
        if (m[2] !== undefined && m[2] !== '' && saslName(m[2].slice(2)) !== username) throw failed(M, 'authorization id differs from the user name');
        const c = users.get(username);
        known = c !== undefined;
        credential = c ?? users.fakeCredential(username);
        nonce = attrs[1][1] + randomBytes(18).toString('base64');
        serverFirst = `r=${nonce},s=${credential.salt.toString('base64')},i=${credential.iterations}`;
        return { response: Buffer.from(serverFirst) };
      }
      if (state === 'final') {
        state = 'done';
        const proofAt = text.lastIndexOf(',p=');
        if (proofAt < 0) throw failed(M, 'client-final-message without a proof');
        const withoutProof = text.slice(0, proofAt);
        const attrs = attributes(withoutProof);
        if (attrs[0]?.[0] !== 'c' || Buffer.from(attrs[0][1], 'base64').toString('utf8') !== gs2Header) throw failed(M, 'channel binding does not match the gs2 header');
        // RFC 5802 wants the combined nonce back; librdkafka sends its client nonce + that combined
        // nonce (rdkafka_sasl_scram.c, "c=%s,r=%.*s%s"), which Kafka's ScramSaslServer accepts by
        // checking endsWith. The nonce still binds this exchange: it ends with our random part.
        if (attrs[1]?.[0] !== 'r' || !attrs[1][1].endsWith(nonce)) throw failed(M, 'nonce does not match');
        const proof = Buffer.from(text.slice(proofAt + 3), 'base64');
        const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
        const clientSignature = hmac(credential.storedKey, authMessage);
        if (proof.length !== clientSignature.length) throw failed(M, 'proof has the wrong length');
        const clientKey = Buffer.alloc(proof.length);
        for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
        const matches = timingSafeEqual(sha256(clientKey), credential.storedKey);
        if (!known || !matches) throw failed(M, known ? `wrong password for ${username}` : `unknown user ${username}`);
        const serverSignature = hmac(credential.serverKey, authMessage);
        return { response: Buffer.from(`v=${serverSignature.toString('base64')}`), principal: username };
      }
      throw failed(M, 'message after the exchange ended');
    },
  };
}
