/**
 * `weir doctor`'s mirror checks: the Kafka client is built, the TLS and SASL files an upstream
 * names are readable, at least one bootstrap server of each upstream answers a Kafka
 * ApiVersions request (v0: every broker since Kafka 0.10 answers it, before any SASL step, KIP-35),
 * and, for an upstream with SASL, the mirror's own client logs in with the configured credentials.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { connectProducer, disconnect, loadKafkaClient, securityConfig, type ConnectFailure } from '../bridge/mirror/client.js';
import type { UpstreamSpec } from '../bridge/mirror/config.js';
import type { WeirConfig } from '../src/config/schema.js';
import type { CheckResult } from './doctor-check.js';

const PROBE_TIMEOUT_MS = 3000;
const API_VERSIONS = 18;
const CORRELATION_ID = 0x57454952; // "WEIR"

/** An ApiVersions v0 request: header v1 (api key, version, correlation id, client id), empty body. */
function apiVersionsRequest(): Buffer {
  const clientId = Buffer.from('weir-doctor');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(API_VERSIONS, 0);
  body.writeInt16BE(0, 2);
  body.writeInt32BE(CORRELATION_ID, 4);
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

/** Resolves with undefined when the server answered like a Kafka broker, else with why not. */
export function probeKafka(server: string, tls: UpstreamSpec['tls'], timeoutMs = PROBE_TIMEOUT_MS): Promise<string | undefined> {
  const colon = server.lastIndexOf(':');
  const host = server.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(server.slice(colon + 1));
  return new Promise((resolve) => {
    let settled = false;
    let socket: Socket;
    const done = (problem: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
    const onConnected = () => socket.write(apiVersionsRequest());
    if (tls === undefined) {
      socket = netConnect({ host, port }, onConnected);
    } else {
      const read = (file: string) => (file === '' ? undefined : readFileSync(file));
      socket = tlsConnect({ host, port, servername: host, ca: read(tls.caFile), cert: read(tls.certFile), key: read(tls.keyFile) }, onConnected);
    }
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 8) return;
      done(received.readInt32BE(4) === CORRELATION_ID ? undefined : 'it answered, but not like a Kafka broker');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    socket.on('close', () => done('the connection closed without an answer'));
  });
}

/**
 * Connects with librdkafka and the upstream's TLS and SASL settings, as the mirror will: resolves
 * with undefined once logged in (metadata fetched), else with librdkafka's reason.
 */
export async function probeLogin(upstream: UpstreamSpec, timeoutMs = PROBE_TIMEOUT_MS): Promise<string | undefined> {
  const kafka = loadKafkaClient();
  const producer = new kafka.Producer({
    'bootstrap.servers': upstream.bootstrapServers.join(','),
    'client.id': 'weir-doctor',
    'socket.connection.setup.timeout.ms': timeoutMs,
    ...securityConfig(upstream),
  });
  try {
    await connectProducer(producer, 2 * timeoutMs);
    return undefined;
  } catch (err) {
    return (err as ConnectFailure).reason ?? (err instanceof Error ? err.message : String(err));
  } finally {
    await disconnect(producer, 0);
  }
}

function unreadable(file: string): string | undefined {
  if (file === '') return undefined;
  try {
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (err) {
    return `${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
  }
}

export async function checkUpstreams(config: WeirConfig): Promise<CheckResult[]> {
  const upstreams = config.mirror.upstreams;
  if (upstreams.length === 0) return [{ level: 'ok', name: 'upstream', message: 'no upstream configured (mirror off)' }];
  const client = checkMirrorClient();
  const results: CheckResult[] = [client];
  for (const upstream of upstreams) results.push(await checkUpstream(upstream, client.level === 'ok'));
  return results;
}

/** The mirror's Kafka client (librdkafka, a native module) loads. */
function checkMirrorClient(): CheckResult {
  try {
    loadKafkaClient();
    return { level: 'ok', name: 'mirror client', message: '@confluentinc/kafka-javascript (librdkafka) loads' };
  } catch (err) {
    return {
      level: 'fail',
      name: 'mirror client',
      message: (err instanceof Error ? err.message : String(err)).split('\n')[0]!,
      fix: 'sudo apt-get install -y build-essential pkg-config libssl-dev zlib1g-dev libzstd-dev, then CKJS_LINKING=dynamic npm ci in the Weir checkout (and re-run systemd/install.sh).',
    };
  }
}

/** One upstream: its files are readable, a bootstrap server answers, and (with SASL, when the client loads) the login works. */
async function checkUpstream(upstream: UpstreamSpec, clientLoads: boolean): Promise<CheckResult> {
  const name = `upstream ${upstream.name}`;
  const files = [upstream.tls?.caFile, upstream.tls?.certFile, upstream.tls?.keyFile, upstream.sasl?.passwordFile].filter((f): f is string => f !== undefined);
  const bad = files.map(unreadable).filter((p): p is string => p !== undefined);
  if (bad.length > 0) {
    return { level: 'fail', name, message: `cannot read ${bad.join(', ')}`, fix: 'Fix the path, or give the weir user read access (under systemd: a LoadCredential= line and $CREDENTIALS_DIRECTORY).' };
  }
  const { reached, problems } = await firstAnswering(upstream);
  if (reached === undefined) {
    return {
      level: 'warn',
      name,
      message: `no bootstrap server answered (${problems.join('; ')})`,
      fix: 'Check the network path and firewall to the central Kafka, the host names and ports, and TLS on or off as the listener expects. Weir keeps storing meanwhile and mirrors once it can connect.',
    };
  }
  const overTls = upstream.tls === undefined ? '' : ' over TLS';
  if (upstream.sasl === undefined || !clientLoads) return { level: 'ok', name, message: `${reached} answers as a Kafka broker${overTls}` };
  const sasl = `SASL ${upstream.sasl.mechanism} as ${upstream.sasl.username}`;
  const problem = await probeLogin(upstream);
  if (problem === undefined) return { level: 'ok', name, message: `${reached} answers as a Kafka broker${overTls} and accepts ${sasl}` };
  return {
    level: 'warn',
    name,
    message: `${reached} answers as a Kafka broker, but logging in with ${sasl} failed: ${problem}`,
    fix: `Check sasl.username, sasl.mechanism and the password in ${upstream.sasl.passwordFile} with the central Kafka's administrators. Weir keeps storing meanwhile and mirrors once it can log in.`,
  };
}

/** The first bootstrap server, in order, that answers ApiVersions, and what went wrong with those before it. */
async function firstAnswering(upstream: UpstreamSpec): Promise<{ reached: string | undefined; problems: string[] }> {
  const problems: string[] = [];
  for (const server of upstream.bootstrapServers) {
    const problem = await probeKafka(server, upstream.tls);
    if (problem === undefined) return { reached: server, problems };
    problems.push(`${server}: ${problem}`);
  }
  return { reached: undefined, problems };
}
