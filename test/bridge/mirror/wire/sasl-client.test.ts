/**
 * The SASL client mechanisms alone: PLAIN's one message (RFC 4616), SCRAM-SHA-256 replaying
 * RFC 7677's published exchange, and SCRAM-SHA-512 against a server worked out here step by step
 * from RFC 5802 section 3 with node:crypto (Weir's listener offers no SHA-512, and RFC 7677 gives
 * no SHA-512 example). A server that cannot prove it knows the credential is refused.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SaslClientError, escapeSaslName, saslClient } from '../../../../bridge/mirror/wire/sasl-client.js';

const text = (b: Buffer | undefined): string => b!.toString('utf8');

describe('PLAIN', () => {
  it('sends NUL user NUL password with no authorization id, then is done', async () => {
    const c = saslClient({ mechanism: 'PLAIN', username: 'edge-1', password: 'pä55' });
    expect(c.first()).toEqual(Buffer.from('\u0000edge-1\u0000pä55', 'utf8'));
    expect(await c.next(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('SCRAM-SHA-256', () => {
  // RFC 7677 section 3: user "user", password "pencil".
  const clientNonce = 'rOprNGfwEbeRWgbNEkqO';
  const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
  const clientFinal = 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
  const serverFinal = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';
  const client = () => saslClient({ mechanism: 'SCRAM-SHA-256', username: 'user', password: 'pencil' }, clientNonce);

  it('replays RFC 7677\'s exchange byte for byte and accepts its server signature', async () => {
    const c = client();
    expect(text(c.first())).toBe(`n,,n=user,r=${clientNonce}`);
    expect(text(await c.next(Buffer.from(serverFirst)))).toBe(clientFinal);
    expect(await c.next(Buffer.from(serverFinal))).toBeUndefined();
  });

  it('refuses a server signature that is not the one the credential gives', async () => {
    const c = client();
    c.first();
    await c.next(Buffer.from(serverFirst));
    const forged = `v=${Buffer.alloc(32, 7).toString('base64')}`;
    await expect(c.next(Buffer.from(forged))).rejects.toThrow(/server signature does not match/);
  });

  it('refuses a server-final message without a signature, or with the broker\'s error', async () => {
    for (const final of ['x=1', 'e=invalid-proof']) {
      const c = client();
      c.first();
      await c.next(Buffer.from(serverFirst));
      await expect(c.next(Buffer.from(final))).rejects.toBeInstanceOf(SaslClientError);
    }
  });

  it.each([
    ['a nonce that does not extend the client\'s', 'r=someone-elses-nonce,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096', /nonce/],
    ['the client\'s nonce unextended', `r=${clientNonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`, /nonce/],
    ['fewer than 4096 iterations', `r=${clientNonce}xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095`, /4095 iterations, fewer than the minimum 4096/],
    ['more than 65536 iterations', `r=${clientNonce}xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=100000000`, /100000000 iterations, more than the maximum 65536/],
    ['no salt', `r=${clientNonce}xyz,i=4096`, /no salt/],
    ['a mandatory extension', `m=ext,r=${clientNonce}xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`, /extension/],
    ['garbage', 'not scram at all', /malformed attribute/],
  ])('refuses a server-first message with %s', async (_what, message, why) => {
    const c = client();
    c.first();
    await expect(c.next(Buffer.from(message))).rejects.toThrow(why);
  });

  it('escapes , and = in the user name (RFC 5802 section 5.1)', () => {
    expect(escapeSaslName('a,b=c')).toBe('a=2Cb=3Dc');
    const c = saslClient({ mechanism: 'SCRAM-SHA-256', username: 'a,b=c', password: 'x' }, 'nonce');
    expect(text(c.first())).toBe('n,,n=a=2Cb=3Dc,r=nonce');
  });

  it('draws a fresh nonce for every exchange', () => {
    const first = (): string => text(saslClient({ mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' }).first());
    expect(first()).not.toBe(first());
    expect(first()).toMatch(/^n,,n=u,r=[A-Za-z0-9+/=]{32}$/);
  });
});

describe('SCRAM-SHA-512', () => {
  /** RFC 5802 section 3, with SHA-512 as H and HMAC-SHA-512 as HMAC, from the server's side. */
  function server(password: string, salt: Buffer, iterations: number) {
    const H = (b: Buffer): Buffer => createHash('sha512').update(b).digest();
    const HMAC = (key: Buffer, s: string): Buffer => createHmac('sha512', key).update(s).digest();
    const saltedPassword = pbkdf2Sync(password, salt, iterations, 64, 'sha512');
    const storedKey = H(HMAC(saltedPassword, 'Client Key'));
    const serverKey = HMAC(saltedPassword, 'Server Key');
    return {
      /** Checks the client's proof; returns the server-final message. */
      verify(clientFirstBare: string, serverFirst: string, clientFinal: string): string {
        const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(',p='));
        const proof = Buffer.from(clientFinal.slice(clientFinal.lastIndexOf(',p=') + 3), 'base64');
        const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
        const clientSignature = HMAC(storedKey, authMessage);
        const clientKey = Buffer.from(proof.map((b, i) => b ^ clientSignature[i]!));
        expect(proof.length).toBe(64);
        expect(H(clientKey).equals(storedKey)).toBe(true);
        return `v=${HMAC(serverKey, authMessage).toString('base64')}`;
      },
    };
  }

  it('proves the password to a SHA-512 server and checks the server\'s proof', async () => {
    const salt = randomBytes(16);
    const s = server('edge-secret', salt, 4096);
    const c = saslClient({ mechanism: 'SCRAM-SHA-512', username: 'edge-1', password: 'edge-secret' }, 'clientnonce');
    const clientFirst = text(c.first());
    expect(clientFirst).toBe('n,,n=edge-1,r=clientnonce');
    const serverFirst = `r=clientnonce+servernonce,s=${salt.toString('base64')},i=4096`;
    const clientFinal = text(await c.next(Buffer.from(serverFirst)));
    expect(clientFinal).toMatch(/^c=biws,r=clientnonce\+servernonce,p=[A-Za-z0-9+/=]{88}$/);
    const serverFinal = s.verify(clientFirst.slice(3), serverFirst, clientFinal);
    expect(await c.next(Buffer.from(serverFinal))).toBeUndefined();
  });

  it('refuses the proof of a server that holds another password', async () => {
    const salt = randomBytes(16);
    const c = saslClient({ mechanism: 'SCRAM-SHA-512', username: 'edge-1', password: 'edge-secret' }, 'clientnonce');
    const clientFirst = text(c.first());
    const serverFirst = `r=clientnonce+servernonce,s=${salt.toString('base64')},i=4096`;
    const clientFinal = text(await c.next(Buffer.from(serverFirst)));
    // The right size, over the right message, from the wrong key.
    const impostor = createHmac('sha512', Buffer.from('not the server key')).update(`${clientFirst.slice(3)},${serverFirst},${clientFinal}`).digest();
    await expect(c.next(Buffer.from(`v=${impostor.toString('base64')}`))).rejects.toThrow(/SCRAM-SHA-512: the broker's server signature does not match/);
  });
});
