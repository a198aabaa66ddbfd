/**
 * `weir start` with a listener's port already taken: one `weir:` line naming the setting, its
 * WEIR_* variable and the command that shows who holds the port; no stack trace; exit status 1.
 */
import net from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { isWeirError } from '../../src/errors.js';
import { listenError } from '../../src/listen-error.js';
import { tempDir } from '../helpers/store.js';
import { assertBuilt, runWeir } from './helpers.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});
beforeAll(() => assertBuilt());

/** Another program holding a port on 127.0.0.1. */
async function holdPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

describe('weir start: a port already in use', () => {
  it.each([
    ['admin.listen', 'WEIR_ADMIN__LISTEN', {}],
    ['kafka.listen', 'WEIR_KAFKA__LISTEN', {}],
    ['mqtt.listen', 'WEIR_MQTT__LISTEN', {}],
    ['mqtt.ws_listen', 'WEIR_MQTT__WS_LISTEN', {}],
  ] as const)('%s names the setting, %s and ss, without a stack trace', async (field, env, extra) => {
    const port = await holdPort();
    const { dir, cleanup } = tempDir('weir-port-');
    cleanups.push(cleanup);
    const result = await runWeir(['start'], { cwd: dir, env: { WEIR_STORE__DIR: dir, ...extra, [env]: `127.0.0.1:${port}` } });
    expect(result.code).toBe(1);
    const stderr = result.stderr;
    expect(stderr).toContain(`weir: ${field} 127.0.0.1:${port}: the address is already in use`);
    expect(stderr).toContain(env);
    expect(stderr).toContain(`ss -ltnp 'sport = :${port}'`);
    expect(stderr).not.toMatch(/EADDRINUSE|\n\s+at |This is unexpected/);
  }, 30_000);
});

describe('listenError', () => {
  const config = loadConfig({ env: { WEIR_MQTT__TLS_LISTEN: '127.0.0.1:8883', WEIR_MQTT__TLS_CERT_FILE: '/c.pem', WEIR_MQTT__TLS_KEY_FILE: '/k.pem' }, cwd: '/tmp' });
  const bindError = (code: string, port: number): Error => Object.assign(new Error(`listen ${code}: 127.0.0.1:${port}`), { code, syscall: 'listen', address: '127.0.0.1', port });

  it('finds the *_listen field by port, with a stable code', () => {
    const err = listenError(bindError('EADDRINUSE', 8883), config);
    expect(isWeirError(err, 'LISTEN_FAILED')).toBe(true);
    expect(err?.message).toBe('mqtt.tls_listen 127.0.0.1:8883: the address is already in use by another program (WEIR_MQTT__TLS_LISTEN)');
    expect(err?.details?.hint).toContain("ss -ltnp 'sport = :8883'");
  });

  it('says what to do for a privileged port; leaves other errors alone', () => {
    expect(listenError(bindError('EACCES', 8883), config)?.message).toContain('needs privileges');
    expect(listenError(bindError('EADDRINUSE', 1), config)).toBeUndefined(); // no listener on that port
    expect(listenError(new Error('boom'), config)).toBeUndefined();
  });
});
