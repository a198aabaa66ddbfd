/**
 * A throw-away PKI for TLS tests, made with openssl: a CA (`ca.crt`, `ca.key`), a server
 * certificate for 127.0.0.1 and localhost (`server.crt`, `server.key`), and a client certificate
 * (`client.crt`, `client.key`) whose CN is `clientCn`, all valid for a day, EC P-256.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './store.js';

export interface TestPki {
  readonly dir: string;
  /** The path of a file in the PKI's directory (also for files a test adds there). */
  file(name: string): string;
  cleanup(): void;
}

export function makeTestPki(prefix: string, clientCn = 'client-1'): TestPki {
  const { dir, cleanup } = tempDir(prefix);
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const issue = (name: string, cn: string, ext: string): void => {
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    writeFileSync(file(`${name}.ext`), ext);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
  };
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=weir-test-ca', '-days', '1');
  issue('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  issue('client', clientCn, 'extendedKeyUsage=clientAuth\n');
  return { dir, file, cleanup };
}
