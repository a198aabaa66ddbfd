import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkClock, checkNode } from '../../device/doctor.js';
import { KAFKA_CREDENTIALS, scramCredential } from '../../src/kafka/server/sasl/credentials.js';
import { writeUserFile } from '../../src/users/user-file.js';
import { startTestBroker, type TestBroker } from '../kafka/server/helpers.js';
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

  it('asks each upstream for ApiVersions and says which answer and which do not', async () => {
    const upstreams = [
      { name: 'central', bootstrap_servers: [`127.0.0.1:${closedPort}`, `127.0.0.1:${broker.port}`] },
      { name: 'down', bootstrap_servers: [`127.0.0.1:${closedPort}`] },
      { name: 'web', bootstrap_servers: [`127.0.0.1:${(notKafka.address() as AddressInfo).port}`] },
      { name: 'secret', bootstrap_servers: [`127.0.0.1:${broker.port}`], sasl: { mechanism: 'PLAIN', username: 'u', password_file: path.join(cwd, 'missing') } },
    ];
    const r = await runWeir(['doctor'], { cwd, env: { WEIR_STORE__DIR: path.join(cwd, 'data'), WEIR_MIRROR__UPSTREAMS: JSON.stringify(upstreams) } });
    expect(r.stdout).toMatch(/^✓ mirror client: @confluentinc\/kafka-javascript \(librdkafka\) loads$/m);
    expect(r.stdout).toMatch(new RegExp(`^✓ upstream central: 127\\.0\\.0\\.1:${broker.port} answers as a Kafka broker$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^! upstream down: no bootstrap server answered \\(127\\.0\\.0\\.1:${closedPort}: ECONNREFUSED\\)$`, 'm'));
    expect(r.stdout).toMatch(/^! upstream web: no bootstrap server answered \(.*it answered, but not like a Kafka broker\)$/m);
    expect(r.stdout).toMatch(/^✗ upstream secret: cannot read .*missing: ENOENT$/m);
    expect(r.code).toBe(1);
  });

  it('logs in to an upstream with SASL as the mirror will, and says why when the password is wrong', async () => {
    writeUserFile(KAFKA_CREDENTIALS, path.join(cwd, 'kafka.users'), new Map([['edge', await scramCredential('right')]]));
    const secured = await startTestBroker({ listener: { sasl: { mechanisms: ['SCRAM-SHA-256'], credentialsFile: path.join(cwd, 'kafka.users') } } });
    try {
      writeFileSync(path.join(cwd, 'good.password'), 'right\n');
      writeFileSync(path.join(cwd, 'bad.password'), 'wrong\n');
      const sasl = (file: string) => ({ mechanism: 'SCRAM-SHA-256', username: 'edge', password_file: path.join(cwd, file) });
      const upstreams = [
        { name: 'good', bootstrap_servers: [`127.0.0.1:${secured.port}`], sasl: sasl('good.password') },
        { name: 'bad', bootstrap_servers: [`127.0.0.1:${secured.port}`], sasl: sasl('bad.password') },
      ];
      const r = await runWeir(['doctor'], { cwd, env: { WEIR_STORE__DIR: path.join(cwd, 'data'), WEIR_MIRROR__UPSTREAMS: JSON.stringify(upstreams) } });
      expect(r.stdout).toMatch(new RegExp(`^✓ upstream good: 127\\.0\\.0\\.1:${secured.port} answers as a Kafka broker and accepts SASL SCRAM-SHA-256 as edge$`, 'm'));
      expect(r.stdout).toMatch(/^! upstream bad: .* answers as a Kafka broker, but logging in with SASL SCRAM-SHA-256 as edge failed: SASL authentication error: .*invalid credentials/m);
      expect(r.stdout).toMatch(/bad\.password with the central Kafka's administrators/);
    } finally {
      await secured.close();
    }
  }, 30_000);
});
