/**
 * SASL (PLAIN, SCRAM-SHA-256) and TLS on the Kafka listener, with real clients: kafkajs, kcat
 * (librdkafka 2.0.2), and raw frames for the KIP-43 v0 flow and the pre-authentication rule. The
 * test CA, server and client certificates are made here with openssl.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../../src/kafka/protocol/api-keys.js';
import { startKafkaListener } from '../../../src/kafka/server/listener.js';
import { KAFKA_CREDENTIALS, scramCredential } from '../../../src/kafka/server/sasl/credentials.js';
import { readUserFile, writeUserFile } from '../../../src/users/user-file.js';
import { makeTestPki, type TestPki } from '../../helpers/pki.js';
import { silentLogger } from '../../helpers/store.js';
import { RawClient, requestFrame, startTestBroker, type TestBroker } from './helpers.js';

const run = promisify(execFile);
let pki: TestPki;
const file = (name: string): string => pki.file(name);

let sasl: TestBroker;
let tls: TestBroker;
let mtls: TestBroker;

beforeAll(async () => {
  pki = makeTestPki('weir-kafka-pki-', 'app-7');
  writeUserFile(KAFKA_CREDENTIALS, file('kafka.users'), new Map([['app', await scramCredential('s3cret')], ['ops', await scramCredential('p,w=d')]]));
  const credentials = { mechanisms: ['SCRAM-SHA-256', 'PLAIN'] as const, credentialsFile: file('kafka.users') };
  sasl = await startTestBroker({ listener: { sasl: credentials } });
  tls = await startTestBroker({ listener: { sasl: credentials, tls: { certFile: file('server.crt'), keyFile: file('server.key') } } });
  mtls = await startTestBroker({ listener: { tls: { certFile: file('server.crt'), keyFile: file('server.key'), caFile: file('ca.crt') } } });
}, 30_000);

afterAll(async () => {
  await sasl?.close();
  await tls?.close();
  await mtls?.close();
  pki?.cleanup();
});

function client(broker: TestBroker, extra: Partial<KafkaConfig>): Kafka {
  return new Kafka({ clientId: 'sasl-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 3_000, ...extra });
}

/** Produces one record and reads the topic back through admin offsets: a full round trip. */
async function roundTrip(kafka: Kafka, topic: string): Promise<string> {
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'v' }] });
  } finally {
    await producer.disconnect();
  }
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic))[0]!.high;
  } finally {
    await admin.disconnect();
  }
}

async function kcat(broker: TestBroker, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = run('kcat', ['-b', broker.bootstrap, ...args], { timeout: 20_000 });
  if (input !== undefined) p.child.stdin!.end(input);
  try {
    const r = await p;
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe.concurrent('SASL with kafkajs', () => {
  it.each([['plain'], ['scram-sha-256']] as const)('%s: the right password produces; the wrong one is refused and its connection closed', async (mechanism) => {
    const creds = (username: string, password: string) => ({ mechanism, username, password }) as SASLOptions;
    const before = sasl.listener.saslCounters()!;
    expect(await roundTrip(client(sasl, { sasl: creds('app', 's3cret') }), `kjs-${mechanism}`)).toBe('1');
    const bad = client(sasl, { sasl: creds('app', 'wrong') }).admin();
    await expect(bad.connect()).rejects.toThrow(/SASL .*authentication failed/i);
    await bad.disconnect();
    const unknown = client(sasl, { sasl: creds('nobody', 's3cret') }).admin();
    await expect(unknown.connect()).rejects.toThrow(/authentication failed/i);
    await unknown.disconnect();
    const after = sasl.listener.saslCounters()!;
    expect(after.failed - before.failed).toBeGreaterThanOrEqual(2);
    expect(after.succeeded).toBeGreaterThan(before.succeeded);
  });

  it('SCRAM user names with "," and "=" (saslname escaping) and passwords with them', async () => {
    expect(await roundTrip(client(sasl, { sasl: { mechanism: 'scram-sha-256', username: 'ops', password: 'p,w=d' } }), 'kjs-escaped')).toBe('1');
  });

  it('the credentials file is reread when it changes: a user added while running logs in, a removed one no longer', async () => {
    const users = readUserFile(KAFKA_CREDENTIALS, file('kafka.users'));
    users.set('late', await scramCredential('later'));
    writeUserFile(KAFKA_CREDENTIALS, file('kafka.users'), users);
    expect(await roundTrip(client(sasl, { sasl: { mechanism: 'scram-sha-256', username: 'late', password: 'later' } }), 'kjs-late')).toBe('1');
    users.delete('late');
    // mtime granularity: make sure the rewrite is seen as a change.
    await new Promise((r) => setTimeout(r, 20));
    writeUserFile(KAFKA_CREDENTIALS, file('kafka.users'), users);
    const gone = client(sasl, { sasl: { mechanism: 'scram-sha-256', username: 'late', password: 'later' } }).admin();
    await expect(gone.connect()).rejects.toThrow(/authentication failed/i);
    await gone.disconnect();
  });

  it('the stored file holds salted SCRAM credentials, never the password', () => {
    const text = readFileSync(file('kafka.users'), 'utf8');
    expect(text).toMatch(/^app:\$scram-sha-256\$i=4096\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/m);
    expect(text).not.toContain('s3cret');
  });
});

describe.concurrent('SASL with kcat (librdkafka 2.0.2)', () => {
  const scram = (password: string) => ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=SCRAM-SHA-256', '-X', 'sasl.username=app', '-X', `sasl.password=${password}`];

  it('SCRAM-SHA-256 with the right password produces and consumes', async () => {
    const p = await kcat(sasl, [...scram('s3cret'), '-P', '-t', 'kcat-scram', '-K', ':'], 'a:1\nb:2\n');
    expect(p.code, p.stderr).toBe(0);
    const c = await kcat(sasl, [...scram('s3cret'), '-C', '-t', 'kcat-scram', '-o', 'beginning', '-e', '-q', '-f', '%k=%s\\n']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toBe('a=1\nb=2\n');
  });

  it('SCRAM-SHA-256 with a wrong password fails with an authentication error', async () => {
    const r = await kcat(sasl, [...scram('wrong'), '-L', '-m', '3']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Authentication failed');
  });

  it('PLAIN works too', async () => {
    const r = await kcat(sasl, ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=PLAIN', '-X', 'sasl.username=app', '-X', 'sasl.password=s3cret', '-L', '-m', '5']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('1 brokers:');
  });

  it('without SASL the client is cut off at its first request', async () => {
    const before = sasl.listener.stats.closed.unauthenticated_request;
    const r = await kcat(sasl, ['-L', '-m', '2']);
    expect(r.code).not.toBe(0);
    expect(sasl.listener.stats.closed.unauthenticated_request).toBeGreaterThan(before);
  });
});

/** SaslHandshake body: the mechanism as a STRING. */
function handshakeBody(mechanism: string): Buffer {
  const b = Buffer.alloc(2 + mechanism.length);
  b.writeInt16BE(mechanism.length, 0);
  b.write(mechanism, 2);
  return b;
}

describe.concurrent('the SASL flow on the wire (KIP-43, KIP-152)', () => {
  it('before authentication ApiVersions is answered (advertising SaslHandshake 0-1 and SaslAuthenticate 0-2); Metadata closes the connection', async () => {
    const c = await RawClient.connect(sasl.port);
    c.write(requestFrame(ApiKey.ApiVersions, 0, 1, Buffer.alloc(0)));
    const [res] = await c.waitFrames(1);
    // correlation id, error 0, then [api_key min max]: find 17 and 36.
    const ranges = new Map<number, [number, number]>();
    const n = res!.readInt32BE(6);
    for (let i = 0; i < n; i++) ranges.set(res!.readInt16BE(10 + i * 6), [res!.readInt16BE(12 + i * 6), res!.readInt16BE(14 + i * 6)]);
    expect(ranges.get(ApiKey.SaslHandshake)).toEqual([0, 1]);
    expect(ranges.get(ApiKey.SaslAuthenticate)).toEqual([0, 2]);
    c.write(requestFrame(ApiKey.Metadata, 1, 2, Buffer.from([0xff, 0xff, 0xff, 0xff])));
    await c.waitClosed();
    expect(c.frames).toHaveLength(1);
  });

  it('a v0 handshake, then a bare PLAIN token: a bare empty answer, then requests are served', async () => {
    const c = await RawClient.connect(sasl.port);
    c.write(requestFrame(ApiKey.SaslHandshake, 0, 1, handshakeBody('PLAIN')));
    const [hs] = await c.waitFrames(1);
    expect(hs!.readInt16BE(4)).toBe(0);
    const token = Buffer.from('\0app\0s3cret');
    const size = Buffer.alloc(4);
    size.writeInt32BE(token.length, 0);
    c.write(Buffer.concat([size, token]));
    await c.waitFrames(2);
    expect(c.frames[1]!.length).toBe(0);
    c.write(requestFrame(ApiKey.Metadata, 1, 3, Buffer.from([0xff, 0xff, 0xff, 0xff])));
    const frames = await c.waitFrames(3);
    expect(frames[2]!.readInt32BE(0)).toBe(3);
    c.destroy();
  });

  it('a v0 handshake with a wrong password: the connection is closed', async () => {
    const c = await RawClient.connect(sasl.port);
    c.write(requestFrame(ApiKey.SaslHandshake, 0, 1, handshakeBody('PLAIN')));
    await c.waitFrames(1);
    const token = Buffer.from('\0app\0nope');
    const size = Buffer.alloc(4);
    size.writeInt32BE(token.length, 0);
    c.write(Buffer.concat([size, token]));
    await c.waitClosed();
    expect(c.frames).toHaveLength(1);
  });

  it('a mechanism not offered: UNSUPPORTED_SASL_MECHANISM (33) with the enabled list, then close', async () => {
    const c = await RawClient.connect(sasl.port);
    c.write(requestFrame(ApiKey.SaslHandshake, 1, 1, handshakeBody('GSSAPI')));
    const [res] = await c.waitFrames(1);
    expect(res!.readInt16BE(4)).toBe(33);
    expect(res!.toString('latin1')).toContain('SCRAM-SHA-256');
    await c.waitClosed();
  });
});

describe.concurrent('TLS', () => {
  it('SASL_SSL: kafkajs with the test CA and SCRAM', async () => {
    expect(tls.listener.security).toBe('SASL_SSL');
    const kafka = client(tls, { ssl: { ca: [readFileSync(file('ca.crt'))] }, sasl: { mechanism: 'scram-sha-256', username: 'app', password: 's3cret' } });
    expect(await roundTrip(kafka, 'tls-kjs')).toBe('1');
  });

  it('SASL_SSL: kcat with ssl.ca.location and SCRAM', async () => {
    const r = await kcat(tls, ['-X', 'security.protocol=SASL_SSL', '-X', `ssl.ca.location=${file('ca.crt')}`, '-X', 'sasl.mechanisms=SCRAM-SHA-256', '-X', 'sasl.username=app', '-X', 'sasl.password=s3cret', '-L', '-m', '5']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('1 brokers:');
  });

  it('a plain-TCP client on the TLS listener gets nowhere and is counted', async () => {
    const before = tls.listener.stats.closed.tls_handshake;
    const r = await kcat(tls, ['-L', '-m', '2']);
    expect(r.code).not.toBe(0);
    await new Promise((res) => setTimeout(res, 100));
    expect(tls.listener.stats.closed.tls_handshake).toBeGreaterThan(before);
  });

  it('mutual TLS: a client certificate from the CA gets in; without one the handshake fails', async () => {
    expect(mtls.listener.security).toBe('SSL');
    const ca = [readFileSync(file('ca.crt'))];
    expect(await roundTrip(client(mtls, { ssl: { ca, cert: readFileSync(file('client.crt')), key: readFileSync(file('client.key')) } }), 'mtls')).toBe('1');
    const anonymous = client(mtls, { ssl: { ca } }).admin();
    await expect(anonymous.connect()).rejects.toThrow();
    await anonymous.disconnect();
  });
});

describe('the non-loopback rule', () => {
  it('refuses 0.0.0.0 without authentication, and binds it with SASL or client certificates', async () => {
    const base = {
      host: '0.0.0.0', port: 0, advertisedHost: 'auto' as const, advertisedPort: 'auto' as const, allowUnauthenticatedNonLoopback: false,
      maxFrameBytes: 1 << 20, maxConnections: 4, maxInFlightPerConnection: 4, handlers: [], logger: silentLogger,
    };
    await expect(startKafkaListener(base)).rejects.toThrow(/not a loopback address and the Kafka listener has no authentication: set kafka.sasl_credentials_file/);
    const withSasl = await startKafkaListener({ ...base, sasl: { mechanisms: ['SCRAM-SHA-256'], credentialsFile: file('kafka.users') } });
    await withSasl.close();
    const withCerts = await startKafkaListener({ ...base, tls: { certFile: file('server.crt'), keyFile: file('server.key'), caFile: file('ca.crt') } });
    await withCerts.close();
  });
});
