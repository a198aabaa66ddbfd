import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkClock, checkNode } from '../../device/doctor.js';
import { KAFKA_CREDENTIALS, scramCredential } from '../../src/kafka/server/sasl/credentials.js';
import { writeUserFile } from '../../src/users/user-file.js';
import { startTestBroker, type TestBroker } from '../kafka/server/helpers.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { startWeirProcess } from '../helpers/weir-process.js';
import { assertBuilt, runWeir } from './helpers.js';

let cwd: string;
beforeEach(() => {
  assertBuilt();
  cwd = mkdtempSync(path.join(tmpdir(), 'weir-doctor-'));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

describe('weir doctor', () => {
  it('passes on a fresh data dir and reports each check', async () => {
    const r = await runWeir(['doctor'], { cwd, env: { WEIR_STORE__DIR: path.join(cwd, 'data') } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^✓ config: built-in defaults is valid$/m);
    expect(r.stdout).toMatch(/^✓ data dir: .*data does not exist yet; Weir will create it$/m);
    expect(r.stdout).toMatch(/^✓ disk budget: .* \(auto: 75% of free space plus data\)$/m);
    expect(r.stdout).toMatch(/^✓ admin\.listen: 127\.0\.0\.1:0: any free port$/m);
    // Information, not a problem: the write rate comes from the running Weir.
    expect(r.stdout).toMatch(/^- flash wear: cannot tell: Weir is not running on this data dir, and the check takes the running Weir's write rate$/m);
    expect(r.stdout).toMatch(/^Nothing to fix\.$/m);
  });

  it("asks the running Weir's admin listener for its write rate", async () => {
    // A free port for the admin listener, known to both Weir and doctor: bind one, note it, close it.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const admin = `127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const dir = path.join(cwd, 'data');
    mkdirSync(dir);
    const weir = await startWeirProcess(dir, { env: { WEIR_ADMIN__ENABLED: 'true', WEIR_ADMIN__LISTEN: admin } });
    try {
      const r = await runWeir(['doctor'], { cwd, env: { WEIR_STORE__DIR: dir, WEIR_ADMIN__LISTEN: admin } });
      expect(r.stdout).toMatch(/^✓ weir: running on this data dir/m);
      // Seconds after start the rate means little: the check says when to ask again.
      expect(r.stdout).toMatch(/^- flash wear: cannot tell yet: Weir started \d+ s ago; ask again after a few minutes/m);
      expect(r.code).toBe(0);
    } finally {
      await weir.kill('SIGTERM');
    }
  }, 60_000);

  describe('with a port taken by another program', () => {
    let server: Server;
    beforeEach(async () => {
      server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('fails, names the field and says how to find the other program', async () => {
      const port = (server.address() as AddressInfo).port;
      const r = await runWeir(['doctor'], { cwd, env: { WEIR_STORE__DIR: path.join(cwd, 'data'), WEIR_ADMIN__LISTEN: `127.0.0.1:${port}` } });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`^✗ admin\\.listen: 127\\.0\\.0\\.1:${port} is in use by another program$`, 'm'));
      expect(r.stdout).toMatch(new RegExp(`^ {4}fix: Find it with: ss -ltnp 'sport = :${port}'; stop it or change admin\\.listen\\.$`, 'm'));
      expect(r.stdout).toMatch(/^1 problem to fix\.$/m);
    });
  });

  it('fails when the configured disk budget exceeds what the disk can hold', async () => {
    const r = await runWeir(['doctor'], { cwd, env: { WEIR_STORE__DIR: path.join(cwd, 'data'), WEIR_STORE__DISK_BUDGET_BYTES: '1000000GiB' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^✗ disk budget: store\.disk_budget_bytes is .* but only .* can ever be available$/m);
  });

  it('an invalid config is reported as such (exit 1)', async () => {
    const r = await runWeir(['doctor'], { cwd, env: { WEIR_STORE__BLOCK_TIMEOUT_MS: 'soon' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/store\.block_timeout_ms: "?soon"? is invalid/);
  });

  it('knows a clock that was never set and a Node.js that is too old', () => {
    expect(checkClock(new Date('2020-01-01T00:00:00Z'))).toMatchObject({ level: 'fail', name: 'clock' });
    expect(checkNode('18.19.0')).toMatchObject({ level: 'fail' });
    expect(checkNode('20.20.2')).toMatchObject({ level: 'ok' });
  });
});

describe('weir doctor: mirror upstreams', () => {
  let broker: TestBroker;
  let closedPort: number;
  let notKafka: Server;
  const notKafkaSockets: Socket[] = [];
  beforeEach(async () => {
    broker = await startTestBroker();
    // A port nobody listens on: bind one, note it, close it.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    // Something that answers, but not Kafka (an HTTP-ish banner).
    notKafka = createServer((socket) => {
      notKafkaSockets.push(socket);
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await new Promise<void>((resolve) => notKafka.listen(0, '127.0.0.1', resolve));
  });
  afterEach(async () => {
    await broker.close();
    for (const socket of notKafkaSockets) socket.destroy();
    await new Promise<void>((resolve) => notKafka.close(() => resolve()));
  });

  it("connects to each upstream with Weir's client (no rule names them) and says which answer and which do not", async () => {
    const upstreams = [
      { name: 'central', bootstrap_servers: [`127.0.0.1:${closedPort}`, `127.0.0.1:${broker.port}`] },
      { name: 'down', bootstrap_servers: [`127.0.0.1:${closedPort}`] },
      { name: 'web', bootstrap_servers: [`127.0.0.1:${(notKafka.address() as AddressInfo).port}`] },
      { name: 'secret', bootstrap_servers: [`127.0.0.1:${broker.port}`], sasl: { mechanism: 'PLAIN', username: 'u', password_file: path.join(cwd, 'missing') } },
    ];
    const r = await runWeir(['doctor'], { cwd, env: { WEIR_STORE__DIR: path.join(cwd, 'data'), WEIR_MIRROR__UPSTREAMS: JSON.stringify(upstreams) } });
    expect(r.stdout).toMatch(/^✓ mirror client: every rule sends with Weir's own Kafka client \(no native module\); librdkafka is not checked, as no rule needs it/m);
    expect(r.stdout).toMatch(new RegExp(`^✓ upstream central: 127\\.0\\.0\\.1:${broker.port} answers as a Kafka broker; it advertises 1 broker \\(127\\.0\\.0\\.1:${broker.port}\\)$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^! upstream down: no bootstrap server answered \\(127\\.0\\.0\\.1:${closedPort}: connect ECONNREFUSED 127\\.0\\.0\\.1:${closedPort}\\)$`, 'm'));
    expect(r.stdout).toMatch(/^! upstream web: no bootstrap server answered \(.*not a Kafka response stream\)$/m);
    expect(r.stdout).toMatch(/^✗ upstream secret: cannot read .*missing: ENOENT$/m);
    expect(r.code).toBe(1);
  });

  it('logs in with librdkafka for rules with client: librdkafka, and says why when the password is wrong', async () => {
    writeUserFile(KAFKA_CREDENTIALS, path.join(cwd, 'kafka.users'), new Map([['edge', await scramCredential('right')]]));
    const secured = await startTestBroker({ listener: { sasl: { mechanisms: ['SCRAM-SHA-256'], credentialsFile: path.join(cwd, 'kafka.users') } } });
    try {
      writeFileSync(path.join(cwd, 'good.password'), 'right\n');
      writeFileSync(path.join(cwd, 'bad.password'), 'wrong\n');
      const sasl = (file: string) => ({ mechanism: 'SCRAM-SHA-256', username: 'edge', password_file: path.join(cwd, file) });
      const upstreams = [
        { name: 'good', bootstrap_servers: [`127.0.0.1:${secured.port}`], sasl: sasl('good.password') },
        { name: 'bad', bootstrap_servers: [`127.0.0.1:${secured.port}`], sasl: sasl('bad.password') },
        { name: 'web', bootstrap_servers: [`127.0.0.1:${(notKafka.address() as AddressInfo).port}`] },
      ];
      const rules = [
        { name: 'exact', upstream: 'good', topics: ['a'], client: 'librdkafka' },
        // The same upstream from a rule on Weir's client (the default): checked with each.
        { name: 'plain', upstream: 'good', topics: ['b'] },
        { name: 'zstd', upstream: 'bad', topics: ['c'], compression: 'zstd' },
        { name: 'web', upstream: 'web', topics: ['d'], client: 'librdkafka' },
      ];
      const env = { WEIR_STORE__DIR: path.join(cwd, 'data'), WEIR_MIRROR__UPSTREAMS: JSON.stringify(upstreams), WEIR_MIRROR__RULES: JSON.stringify(rules) };
      const r = await runWeir(['doctor'], { cwd, env });
      expect(r.stdout).toMatch(/^✓ mirror client: @confluentinc\/kafka-javascript \(librdkafka\) loads, for rules exact, zstd, web$/m);
      const good = new RegExp(`^✓ upstream good \\(client librdkafka\\): 127\\.0\\.0\\.1:${secured.port} answers as a Kafka broker and accepts SASL SCRAM-SHA-256 as edge$`, 'm');
      expect(r.stdout).toMatch(good);
      expect(r.stdout).toMatch(new RegExp(`^✓ upstream good \\(client weir\\): 127\\.0\\.0\\.1:${secured.port} answers as a Kafka broker and accepts SASL SCRAM-SHA-256 as edge; it advertises 1 broker`, 'm'));
      // librdkafka's words ("SASL authentication error"), not Weir's client's ("SASL authentication failed").
      expect(r.stdout).toMatch(/^! upstream bad: .* answers as a Kafka broker, but logging in with SASL SCRAM-SHA-256 as edge failed: SASL authentication error: .*invalid credentials/m);
      expect(r.stdout).toMatch(/bad\.password with the central Kafka's administrators/);
      // librdkafka's rules are first probed with a bare ApiVersions request.
      expect(r.stdout).toMatch(/^! upstream web: no bootstrap server answered \(.*it answered, but not like a Kafka broker\)$/m);
    } finally {
      await secured.close();
    }
  }, 30_000);
});

describe("weir doctor: an upstream on Weir's own client, over TLS with SASL", () => {
  let pki: TestPki;
  let secured: TestBroker;
  beforeEach(async () => {
    pki = makeTestPki('weir-doctor-pki-');
    writeUserFile(KAFKA_CREDENTIALS, pki.file('kafka.users'), new Map([['edge', await scramCredential('right')]]));
    secured = await startTestBroker({
      listener: {
        tls: { certFile: pki.file('server.crt'), keyFile: pki.file('server.key') },
        sasl: { mechanisms: ['SCRAM-SHA-256', 'PLAIN'], credentialsFile: pki.file('kafka.users') },
      },
    });
  });
  afterEach(async () => {
    await secured.close();
    pki.cleanup();
  });

  it('logs in as the mirror will, and names SASL or TLS when the password or the CA is wrong', async () => {
    writeFileSync(pki.file('good.password'), 'right\n');
    writeFileSync(pki.file('bad.password'), 'wrong\n');
    const server = `127.0.0.1:${secured.port}`;
    const upstream = (name: string, passwordFile: string, tls: { ca_file?: string }) => ({
      name,
      bootstrap_servers: [server],
      tls,
      sasl: { mechanism: 'SCRAM-SHA-256', username: 'edge', password_file: pki.file(passwordFile) },
    });
    const upstreams = [
      upstream('good', 'good.password', { ca_file: pki.file('ca.crt') }),
      upstream('bad', 'bad.password', { ca_file: pki.file('ca.crt') }),
      // TLS with the system's CAs, which do not know the test CA.
      upstream('untrusted', 'good.password', {}),
    ];
    // 'good' is named by a rule on the default client; the others by none (checked with Weir's client too).
    const rules = [{ name: 'to-good', upstream: 'good', topics: ['a'] }];
    const env = { WEIR_STORE__DIR: path.join(cwd, 'data'), WEIR_MIRROR__UPSTREAMS: JSON.stringify(upstreams), WEIR_MIRROR__RULES: JSON.stringify(rules) };
    const r = await runWeir(['doctor'], { cwd, env });
    expect(r.stderr).toBe('');
    const s = server.replaceAll('.', '\\.');
    expect(r.stdout).toMatch(/^✓ mirror client: every rule sends with Weir's own Kafka client/m);
    expect(r.stdout).toMatch(new RegExp(`^✓ upstream good: ${s} answers as a Kafka broker over TLS and accepts SASL SCRAM-SHA-256 as edge; it advertises 1 broker \\(${s}\\)$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^! upstream bad: ${s} answers as a Kafka broker, but logging in with SASL SCRAM-SHA-256 as edge failed: SASL authentication failed: .*invalid credentials`, 'm'));
    expect(r.stdout).toMatch(/^ {4}fix: Check sasl\.username, sasl\.mechanism and the password in .*bad\.password with the central Kafka's administrators/m);
    expect(r.stdout).toMatch(new RegExp(`^! upstream untrusted: no bootstrap server answered \\(${s}: TLS: unable to verify the first certificate\\)$`, 'm'));
    // A certificate problem, not a network one: the fix says only what to check in TLS.
    expect(r.stdout).toMatch(/^! upstream untrusted: .*\n {4}fix: Check that the listener speaks TLS, that tls\.ca_file holds the CA that signed the broker's certificate[^\n]*client certificate\. Weir keeps storing meanwhile and mirrors once it can connect\.$/m);
    // Warnings only: Weir stores meanwhile and mirrors once the upstream takes it.
    expect(r.code).toBe(0);
  }, 30_000);
});
