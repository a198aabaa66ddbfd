/**
 * The TLS listener, with a test CA, server and client certificates made here with openssl.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isWeirError } from '../../../src/errors.js';
import { readAll, startTestBridge, type RunningBridge } from '../../helpers/mqtt-bridge.js';
import { makeTestPki, type TestPki } from '../../helpers/pki.js';
import { silentLogger, tempDir } from '../../helpers/store.js';

let pki: TestPki;
const file = (name: string): string => pki.file(name);

beforeAll(() => {
  pki = makeTestPki('weir-mqtt-pki-', 'sensor-9');
});
afterAll(() => pki.cleanup());

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function bridge(env: Record<string, string> = {}): Promise<RunningBridge> {
  const { dir, cleanup } = tempDir('weir-mqtt-tls-');
  const running = await startTestBridge(dir, silentLogger, {
    WEIR_MQTT__TLS_LISTEN: '127.0.0.1:0', WEIR_MQTT__TLS_CERT_FILE: file('server.crt'), WEIR_MQTT__TLS_KEY_FILE: file('server.key'), ...env,
  });
  cleanups.push(cleanup, () => running.close());
  return running;
}

async function connectTls(b: RunningBridge, opts: IClientOptions = {}): Promise<MqttClient> {
  const c = await connectAsync(`mqtts://127.0.0.1:${b.bridge.tlsAddress!.port}`, { reconnectPeriod: 0, ca: readFileSync(file('ca.crt')), ...opts });
  cleanups.push(() => c.endAsync(true));
  return c;
}

describe('TLS listener', () => {
  it('accepts MQTT over TLS into the same log, beside the plain listener', async () => {
    const b = await bridge();
    const c = await connectTls(b);
    await c.publishAsync('over/tls', 'secret', { qos: 1 });
    expect(readAll(b.store, 'mqtt').map((r) => r.value?.toString())).toEqual(['secret']);
  });

  it('with tls_require_client_cert, a client without a trusted certificate cannot connect', async () => {
    const b = await bridge({ WEIR_MQTT__TLS_REQUIRE_CLIENT_CERT: 'true', WEIR_MQTT__TLS_CA_FILE: file('ca.crt') });
    await expect(connectTls(b)).rejects.toThrow();
    await expect.poll(() => b.bridge.stats().connections.tlsHandshakeFailed).toBeGreaterThan(0);
  });

  it('a client certificate is the client\'s identity: its CN is the username for headers and ACLs', async () => {
    const b = await bridge({
      WEIR_MQTT__TLS_REQUIRE_CLIENT_CERT: 'true', WEIR_MQTT__TLS_CA_FILE: file('ca.crt'),
      WEIR_MQTT__ACL: JSON.stringify([{ publish: ['sensors/%u/#'] }]),
      // Off loopback the certificate requirement is the authentication: no password file needed.
      WEIR_MQTT__TLS_LISTEN: '0.0.0.0:0',
    });
    const c = await connectTls(b, { cert: readFileSync(file('client.crt')), key: readFileSync(file('client.key')) });
    await c.publishAsync('sensors/sensor-9/t', 'v', { qos: 1 });
    expect(readAll(b.store, 'mqtt')[0]?.headers['mqtt.username']).toBe('sensor-9');
  });

  it('a TLS listener without its certificate files is a config error naming them', async () => {
    const { dir, cleanup } = tempDir('weir-mqtt-tls-');
    cleanups.push(cleanup);
    const err: unknown = await startTestBridge(dir, silentLogger, { WEIR_MQTT__TLS_LISTEN: '127.0.0.1:0' }).catch((e: unknown) => e);
    expect(isWeirError(err, 'CONFIG_INVALID')).toBe(true);
    expect(String(err)).toContain('mqtt.tls_cert_file and mqtt.tls_key_file');
  });

  it('an unreadable certificate file is a config error naming the field', async () => {
    const { dir, cleanup } = tempDir('weir-mqtt-tls-');
    cleanups.push(cleanup);
    const err: unknown = await startTestBridge(dir, silentLogger, {
      WEIR_MQTT__TLS_LISTEN: '127.0.0.1:0', WEIR_MQTT__TLS_CERT_FILE: join(dir, 'nope.crt'), WEIR_MQTT__TLS_KEY_FILE: file('server.key'),
    }).catch((e: unknown) => e);
    expect(isWeirError(err, 'CONFIG_INVALID')).toBe(true);
    expect(String(err)).toContain('mqtt.tls_cert_file: cannot read');
  });
});
