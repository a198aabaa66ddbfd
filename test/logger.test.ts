import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  let out = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  return { stream, lines: () => out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('writes JSON lines with child bindings, at the configured level', () => {
    const { stream, lines } = capture();
    const logger = createLogger({ level: 'info', pretty: false, destination: stream });
    logger.child({ component: 'store' }).info({ topic: 't' }, 'hello');
    logger.debug('hidden');
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatchObject({ level: 30, component: 'store', topic: 't', msg: 'hello' });
  });

  it('never writes secrets: passwords, SASL and TLS key material, at any depth pino can reach', () => {
    const { stream, lines } = capture();
    const logger = createLogger({ level: 'info', pretty: false, destination: stream });
    logger.info(
      {
        password: 'p0',
        upstream: { sasl: { mechanism: 'plain', username: 'u', password: 'p1' }, tls: { key: 'PEM', cert: 'public' } },
        client: { options: { 'ssl.key.password': 'p2', nested: { token: 't' } } },
        headers: { authorization: 'Bearer x' },
      },
      'connecting',
    );
    const text = JSON.stringify(lines()[0]);
    for (const secret of ['p0', 'p1', 'p2', 'PEM', '"t"', 'Bearer x']) expect(text).not.toContain(secret);
    expect(lines()[0]).toMatchObject({ upstream: { sasl: { username: 'u', password: '[redacted]' }, tls: { cert: 'public' } } });
  });
});
