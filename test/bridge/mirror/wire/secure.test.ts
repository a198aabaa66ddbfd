/**
 * BrokerConnection over TLS (a test CA made with openssl) and TLS + SASL against a real Weir
 * listener: the certificate is checked (by IP and by name), and SCRAM-SHA-256 and PLAIN log in
 * with the users file a Weir upstream reads; wrong credentials, a wrong CA or a mechanism the
 * broker does not offer fail the connect with the reason an operator needs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { BrokerConnection, ConnectError, type ConnectionOptions, type WireSecurity } from '../../../../bridge/mirror/wire/connection.js';
import { ApiKey } from '../../../../src/kafka/protocol/api-keys.js';
import { KAFKA_CREDENTIALS, scramCredential } from '../../../../src/kafka/server/sasl/credentials.js';
import { writeUserFile } from '../../../../src/users/user-file.js';
import { makeTestPki, type TestPki } from '../../../helpers/pki.js';
import { METADATA, readMetadataV4, startBroker, writeMetadataV4, type TestBroker } from './helpers.js';

let pki: TestPki;
let otherPki: TestPki;
const pem = (name: string, from: TestPki = pki): Buffer => readFileSync(from.file(name));

beforeAll(async () => {
  pki = makeTestPki('weir-wire-pki-');
  otherPki = makeTestPki('weir-wire-other-pki-');
  writeUserFile(KAFKA_CREDENTIALS, pki.file('kafka.users'), new Map([['edge-1', await scramCredential('edge-secret')]]));
});

afterAll(() => {
  pki?.cleanup();
  otherPki?.cleanup();
});

function options(port: number, security: WireSecurity, host = '127.0.0.1'): ConnectionOptions {
  return { host, port, clientId: 'wire-test', connectTimeoutMs: 10_000, requestTimeoutMs: 10_000, ...security };
}

/** Opens, proves the connection works with a Metadata round trip, closes. */
async function roundTrip(opts: ConnectionOptions): Promise<void> {
  const c = await BrokerConnection.open(opts);
  try {
    expect(c.version(ApiKey.Produce, 3, 8)).toBeTypeOf('number');
    const md = await c.request(METADATA, 4, writeMetadataV4(['wire.secure'], true), readMetadataV4);
    expect(md.topics[0]!.name).toBe('wire.secure');
    expect(md.topics[0]!.errorCode).toBe(0);
  } finally {
    c.close();
  }
}

async function connectError(opts: ConnectionOptions): Promise<ConnectError> {
  const err = await BrokerConnection.open(opts).then(
    (c) => {
      c.close();
      throw new Error('the connect succeeded');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

describe('over TLS', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startBroker({ WEIR_KAFKA__TLS_CERT_FILE: pki.file('server.crt'), WEIR_KAFKA__TLS_KEY_FILE: pki.file('server.key') });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('connects with the CA that signed the broker certificate, by IP address', async () => {
    await roundTrip(options(broker.port, { tls: { ca: pem('ca.crt') } }));
  });

  it('connects by host name, which the certificate names (and SNI carries)', async () => {
    await roundTrip(options(broker.port, { tls: { ca: pem('ca.crt') } }, 'localhost'));
  });

  it('refuses a broker whose certificate another CA signed, naming TLS', async () => {
    const err = await connectError(options(broker.port, { tls: { ca: pem('ca.crt', otherPki) } }));
    expect(err.failure).toBe('tls');
    expect(err.reason).toMatch(/^TLS: (unable to verify the first certificate|self-signed certificate in certificate chain|unable to get local issuer certificate)$/);
    expect(err.message).toBe(`cannot connect to 127.0.0.1:${broker.port}: ${err.reason}`);
  });

  it('refuses a broker certificate checked against the system CAs only', async () => {
    const err = await connectError(options(broker.port, { tls: {} }));
    expect(err.reason).toMatch(/^TLS: /);
  });
});

describe('over mutual TLS', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startBroker({ WEIR_KAFKA__TLS_CERT_FILE: pki.file('server.crt'), WEIR_KAFKA__TLS_KEY_FILE: pki.file('server.key'), WEIR_KAFKA__TLS_CA_FILE: pki.file('ca.crt') });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('presents the client certificate the broker asks for', async () => {
    await roundTrip(options(broker.port, { tls: { ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('client.key') } }));
  });

  it('without a client certificate is turned away', async () => {
    const err = await connectError(options(broker.port, { tls: { ca: pem('ca.crt') } }));
    expect(err.failure).toBe('tls');
    expect(err.reason).toBe('TLS: tlsv13 alert certificate required');
  });
});

describe('over TLS with SASL', () => {
  let broker: TestBroker;
  const tls = (): WireSecurity['tls'] => ({ ca: pem('ca.crt') });
  beforeAll(async () => {
    broker = await startBroker({
      WEIR_KAFKA__TLS_CERT_FILE: pki.file('server.crt'),
      WEIR_KAFKA__TLS_KEY_FILE: pki.file('server.key'),
      WEIR_KAFKA__SASL_CREDENTIALS_FILE: pki.file('kafka.users'),
      WEIR_KAFKA__SASL_MECHANISMS: 'SCRAM-SHA-256,PLAIN',
    });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it.each(['SCRAM-SHA-256', 'PLAIN'] as const)('logs in with %s and is served', async (mechanism) => {
    await roundTrip(options(broker.port, { tls: tls(), sasl: { mechanism, username: 'edge-1', password: 'edge-secret' } }));
  });

  it.each(['SCRAM-SHA-256', 'PLAIN'] as const)('with a wrong %s password fails with the broker\'s reason', async (mechanism) => {
    const err = await connectError(options(broker.port, { tls: tls(), sasl: { mechanism, username: 'edge-1', password: 'not-it' } }));
    expect(err.failure).toBe('sasl');
    expect(err.reason).toBe(`SASL authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`);
  });

  it('with an unknown user fails the same way (the broker does not reveal which users exist)', async () => {
    const err = await connectError(options(broker.port, { tls: tls(), sasl: { mechanism: 'SCRAM-SHA-256', username: 'nobody', password: 'edge-secret' } }));
    expect(err.reason).toBe('SASL authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256');
  });

  it('names the mechanisms the broker offers when it lacks the one asked for', async () => {
    const err = await connectError(options(broker.port, { tls: tls(), sasl: { mechanism: 'SCRAM-SHA-512', username: 'edge-1', password: 'edge-secret' } }));
    expect(err.reason).toBe('SASL mechanism SCRAM-SHA-512 refused by the broker (UNSUPPORTED_SASL_MECHANISM (33); it offers SCRAM-SHA-256, PLAIN)');
  });

  it('without SASL gets the versions, then loses the connection at the first real request', async () => {
    const c = await BrokerConnection.open(options(broker.port, { tls: tls() }));
    await expect(c.request(METADATA, 4, writeMetadataV4(['wire.secure'], true), readMetadataV4)).rejects.toThrow(/lost/);
    expect(c.closed).toBe(true);
  });
});
