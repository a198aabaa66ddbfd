/**
 * The mirror to an upstream that requires TLS and SASL, as a datacenter Kafka usually does: the
 * upstream Weir's listener speaks TLS only (a test CA made here with openssl) and authenticates
 * with SCRAM-SHA-256 or PLAIN; the edge's mirror reads its password from a file, as systemd's
 * LoadCredential= hands it over. A wrong password keeps every record at the edge and says why,
 * and a stop during a connect attempt does not wait for it.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { clientLogLine } from '../../../bridge/mirror/client.js';
import type { RunningWeir } from '../../../src/main.js';
import { KAFKA_CREDENTIALS, scramCredential } from '../../../src/kafka/server/sasl/credentials.js';
import { writeUserFile } from '../../../src/users/user-file.js';
import { assertBuilt } from '../../cli/helpers.js';
import { makeTestPki, type TestPki } from '../../helpers/pki.js';
import { tempDir } from '../../helpers/store.js';
import { caughtUp, checkArrived, mirrorEnv, mirrorStatusOf, startEdge, startUpstream, waitForStatus, type Upstream } from './helpers.js';

let pki: TestPki;
const file = (name: string): string => pki.file(name);
let upstream: Upstream;
let edge: RunningWeir | undefined;
let edgeDir: ReturnType<typeof tempDir> | undefined;

beforeAll(async () => {
  assertBuilt();
  pki = makeTestPki('weir-mirror-pki-');
  writeUserFile(KAFKA_CREDENTIALS, file('kafka.users'), new Map([['edge-1', await scramCredential('edge-secret')]]));
  writeFileSync(file('right.password'), 'edge-secret\n');
  writeFileSync(file('wrong.password'), 'not-it\n');
  upstream = await startUpstream({
    WEIR_KAFKA__SASL_CREDENTIALS_FILE: file('kafka.users'),
    WEIR_KAFKA__SASL_MECHANISMS: 'SCRAM-SHA-256,PLAIN',
    WEIR_KAFKA__TLS_CERT_FILE: file('server.crt'),
    WEIR_KAFKA__TLS_KEY_FILE: file('server.key'),
  });
}, 60_000);

afterEach(async () => {
  await edge?.shutdown('test end');
  edge = undefined;
  edgeDir?.cleanup();
  edgeDir = undefined;
});

afterAll(async () => {
  await upstream?.cleanup();
  pki?.cleanup();
});

function secureEnv(mechanism: string, passwordFile: string, client = 'weir'): Record<string, string> {
  return mirrorEnv(upstream.proxy.port, { client }, {
    WEIR_MIRROR__UPSTREAMS: JSON.stringify([
      {
        name: 'central',
        bootstrap_servers: [`127.0.0.1:${upstream.proxy.port}`],
        tls: { ca_file: file('ca.crt') },
        sasl: { mechanism, username: 'edge-1', password_file: passwordFile },
      },
    ]),
  });
}

async function appendRecords(weir: RunningWeir, topic: string, n: number): Promise<void> {
  await weir.store.createTopic(topic, { partitions: 2 });
  for (let p = 0; p < 2; p++) {
    await weir.store.appendRecords(topic, p, Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`${topic}-${p}-${i}`) })));
  }
}

it.each([
  ['SCRAM-SHA-256', 'weir'],
  ['PLAIN', 'weir'],
  ['SCRAM-SHA-256', 'librdkafka'],
  ['PLAIN', 'librdkafka'],
])('mirrors over TLS with SASL %s, the password read from a file (client %s)', async (mechanism, client) => {
  edgeDir = tempDir('weir-edge-secure-');
  edge = await startEdge(edgeDir.dir, secureEnv(mechanism, file('right.password'), client));
  const topic = `sensors.${mechanism === 'PLAIN' ? 'plain' : 'scram'}.${client}`;
  await appendRecords(edge, topic, 300);
  const status = await waitForStatus(() => mirrorStatusOf(edge!), caughtUp(2));
  expect(status.rules[0]!.connected).toBe(true);
  expect(status.rules[0]!.lastError).toBeNull();
  await edge.shutdown('test end');
  edge = undefined;

  const records = await upstream.records(`edge.edge-1.${topic}`);
  await upstream.start(); // records() stopped it to read its store
  const { duplicates, byPartition } = checkArrived(records, new Map([[0, 300], [1, 300]]));
  expect(duplicates).toBe(0);
  expect([...byPartition.values()].map((list) => list.length)).toEqual([300, 300]);
  expect(byPartition.get(1)![299]!.value).toBe(`${topic}-1-299`);
}, 60_000);

it.each([
  // The broker's own words, not just "broker transport failure".
  ['weir', /^cannot connect to the upstream: .*SASL authentication failed: .*invalid credentials/],
  ['librdkafka', /^cannot connect to the upstream: .* \(librdkafka: SASL authentication error: .*invalid credentials/],
])('with a wrong password sends nothing, keeps every record at the edge and says why (client %s)', async (client, reason) => {
  edgeDir = tempDir('weir-edge-secure-');
  edge = await startEdge(edgeDir.dir, secureEnv('SCRAM-SHA-256', file('wrong.password'), client as string));
  await appendRecords(edge, 'sensors.denied', 50);
  const status = await waitForStatus(
    () => mirrorStatusOf(edge!),
    (s) => s.rules[0] !== undefined && s.rules[0].lastError !== null && s.rules[0].partitions.length === 2,
    30_000,
  );
  const rule = status.rules[0]!;
  expect(rule.connected).toBe(false);
  expect(rule.lastError!.message).toMatch(reason as RegExp);
  expect(rule.partitions.map((p) => p.cursor)).toEqual([0, 0]);
  await edge.shutdown('test end');
  edge = undefined;
  expect(await upstream.records('edge.edge-1.sensors.denied')).toEqual([]);
  await upstream.start();
}, 60_000);

it.each(['weir', 'librdkafka'])('stops at once while a connect attempt is under way (a connect may take 10 s; client %s)', async (client) => {
  edgeDir = tempDir('weir-edge-secure-');
  edge = await startEdge(edgeDir.dir, secureEnv('SCRAM-SHA-256', file('wrong.password'), client));
  await new Promise((resolve) => setTimeout(resolve, 1000)); // the first attempt fails only at its timeout
  expect((await mirrorStatusOf(edge)).rules[0]!.connected).toBe(false);
  const stopping = Date.now();
  await edge.shutdown('test end');
  edge = undefined;
  expect(Date.now() - stopping).toBeLessThan(3000);
}, 30_000);

it('reads a librdkafka log line without its thread, broker and timing decorations', () => {
  const core = 'SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256';
  expect(clientLogLine(`[thrd:sasl_ssl://127.0.0.1:43639/bootstrap]: sasl_ssl://127.0.0.1:43639/bootstrap: ${core} (after 12ms in state AUTH_REQ)`)).toBe(core);
  expect(clientLogLine(`[thrd:sasl_ssl://127.0.0.1:43639/bootstrap]: sasl_ssl://127.0.0.1:43639/bootstrap: ${core} (after 8ms in state AUTH_REQ, 1 identical error(s) suppressed)`)).toBe(core);
  expect(clientLogLine('plain text')).toBe('plain text');
});
