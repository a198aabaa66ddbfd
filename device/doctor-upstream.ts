/**
 * `weir doctor`'s mirror checks. Each upstream is checked with the Kafka client the rules naming
 * it send with (rule option `client`; an upstream no rule names, with Weir's own, the default),
 * after its TLS and SASL files are found readable:
 * - Weir's own client (doctor-upstream-wire.ts): a bootstrap server takes the connection the
 *   mirror opens (TLS, ApiVersions, SASL login) and answers Metadata;
 * - librdkafka: the native module loads (checked once, only when some rule needs it), a bootstrap
 *   server answers a Kafka ApiVersions request (v0: every broker since Kafka 0.10 answers it,
 *   before any SASL step, KIP-35), and, with SASL, librdkafka logs in with the configured
 *   credentials.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { connectProducer, disconnect, loadKafkaClient, securityConfig, type ConnectFailure } from '../bridge/mirror/client.js';
import { CLIENTS, type MirrorClient, type MirrorRuleSpec, type UpstreamSpec } from '../bridge/mirror/config.js';
import { WeirError } from '../src/errors.js';
import type { WeirConfig } from '../src/config/schema.js';
import type { CheckResult } from './doctor-check.js';
import { probeWithWeirClient, type WireProbe } from './doctor-upstream-wire.js';

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
      // SNI carries host names only (RFC 6066 section 3): Node warns when it is given an address.
      socket = tlsConnect({ host, port, servername: isIP(host) === 0 ? host : undefined, ca: read(tls.caFile), cert: read(tls.certFile), key: read(tls.keyFile) }, onConnected);
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
  const { upstreams, rules } = config.mirror;
  if (upstreams.length === 0) return [{ level: 'ok', name: 'upstream', message: 'no upstream configured (mirror off)' }];
  const client = checkMirrorClient(rules.filter((r) => r.client === 'librdkafka').map((r) => r.name));
  const results: CheckResult[] = [client];
  for (const upstream of upstreams) results.push(...(await checkUpstream(upstream, clientsOf(upstream, rules), client.level === 'ok')));
  return results;
}

/** The clients the rules naming `upstream` send with; Weir's own when no rule names it. */
function clientsOf(upstream: UpstreamSpec, rules: readonly MirrorRuleSpec[]): MirrorClient[] {
  const used = new Set(rules.filter((r) => r.upstream === upstream.name).map((r) => r.client));
  return used.size === 0 ? ['weir'] : CLIENTS.filter((c) => used.has(c));
}

/**
 * librdkafka (a native module, built at install) loads, when some rule sends with it. Otherwise
 * the line says so rather than vanishing: an operator who knows the mirror once needed it sees
 * why it is not checked, and which rule options would bring it back.
 */
function checkMirrorClient(librdkafkaRules: string[]): CheckResult {
  if (librdkafkaRules.length === 0) {
    return {
      level: 'ok',
      name: 'mirror client',
      message: "every rule sends with Weir's own Kafka client (no native module); librdkafka is not checked, as no rule needs it (client: librdkafka, delivery: exactly-once or compression: zstd)",
    };
  }
  const needed = `${librdkafkaRules.length === 1 ? 'rule' : 'rules'} ${librdkafkaRules.join(', ')}`;
  try {
    loadKafkaClient();
    return { level: 'ok', name: 'mirror client', message: `@confluentinc/kafka-javascript (librdkafka) loads, for ${needed}` };
  } catch (err) {
    return {
      level: 'fail',
      name: 'mirror client',
      message: `${(err instanceof Error ? err.message : String(err)).split('\n')[0]!} (librdkafka is needed by ${needed})`,
      fix: 'sudo apt-get install -y build-essential pkg-config libssl-dev zlib1g-dev libzstd-dev, then CKJS_LINKING=dynamic npm ci in the Weir checkout (and re-run systemd/install.sh). Or, for an at-least-once rule without zstd, set client: weir.',
    };
  }
}

/** One upstream: its files are readable, then a check per client its rules use (named by client when there are two). */
async function checkUpstream(upstream: UpstreamSpec, clients: MirrorClient[], librdkafkaLoads: boolean): Promise<CheckResult[]> {
  const name = `upstream ${upstream.name}`;
  const files = [upstream.tls?.caFile, upstream.tls?.certFile, upstream.tls?.keyFile, upstream.sasl?.passwordFile].filter((f): f is string => f !== undefined);
  const bad = files.map(unreadable).filter((p): p is string => p !== undefined);
  if (bad.length > 0) {
    return [{ level: 'fail', name, message: `cannot read ${bad.join(', ')}`, fix: 'Fix the path, or give the weir user read access (under systemd: a LoadCredential= line and $CREDENTIALS_DIRECTORY).' }];
  }
  const results: CheckResult[] = [];
  for (const client of clients) {
    const named = clients.length === 1 ? name : `${name} (client ${client})`;
    results.push(client === 'weir' ? await checkWithWeirClient(upstream, named) : await checkWithLibrdkafka(upstream, named, librdkafkaLoads));
  }
  return results;
}

async function checkWithWeirClient(upstream: UpstreamSpec, name: string): Promise<CheckResult> {
  let probe: WireProbe;
  try {
    probe = await probeWithWeirClient(upstream, PROBE_TIMEOUT_MS);
  } catch (err) {
    // A file readable by access(2) that still cannot be read (a directory, say); the message says which and what to do.
    if (err instanceof WeirError) return { level: 'fail', name, message: err.message };
    throw err;
  }
  if (probe.outcome === 'unreached') return unreached(name, probe.problems, probe.tlsProblems);
  if (probe.outcome === 'login refused') return loginRefused(name, upstream, probe.server, probe.reason);
  const answers = answered(upstream, probe.server, true);
  if (probe.metadataProblem !== undefined) {
    return {
      level: 'warn',
      name,
      message: `${answers}, but ${probe.metadataProblem}`,
      fix: "The mirror asks Metadata where each partition's leader is: check the central Kafka's version (0.11 or later) and its broker logs, or use client: librdkafka.",
    };
  }
  return { level: 'ok', name, message: `${answers}; it advertises ${brokerList(probe.brokers)}` };
}

/** A bootstrap server answers ApiVersions, and (with SASL, when librdkafka loads) librdkafka logs in. */
async function checkWithLibrdkafka(upstream: UpstreamSpec, name: string, librdkafkaLoads: boolean): Promise<CheckResult> {
  const { reached, problems } = await firstAnswering(upstream);
  if (reached === undefined) return unreached(name, problems, 0);
  if (upstream.sasl === undefined || !librdkafkaLoads) return { level: 'ok', name, message: answered(upstream, reached, false) };
  const problem = await probeLogin(upstream);
  if (problem === undefined) return { level: 'ok', name, message: answered(upstream, reached, true) };
  return loginRefused(name, upstream, reached, problem);
}

/** "host:port answers as a Kafka broker over TLS and accepts SASL PLAIN as edge": what was shown to work. */
function answered(upstream: UpstreamSpec, server: string, loggedIn: boolean): string {
  const overTls = upstream.tls === undefined ? '' : ' over TLS';
  const sasl = upstream.sasl === undefined || !loggedIn ? '' : ` and accepts SASL ${upstream.sasl.mechanism} as ${upstream.sasl.username}`;
  return `${server} answers as a Kafka broker${overTls}${sasl}`;
}

/** The brokers the mirror's producer goes on to connect to, as the bootstrap server advertises them: an unreachable advertised host shows here. */
function brokerList(brokers: string[]): string {
  if (brokers.length === 0) return 'no broker';
  const shown = brokers.slice(0, 3).join(', ') + (brokers.length > 3 ? ', …' : '');
  return `${brokers.length} broker${brokers.length === 1 ? '' : 's'} (${shown})`;
}

/** Every bootstrap server failed; when all of them failed in TLS, the fix is about certificates only. */
function unreached(name: string, problems: string[], tlsProblems: number): CheckResult {
  const tlsFix = "Check that the listener speaks TLS, that tls.ca_file holds the CA that signed the broker's certificate (without it, the system's CAs), that the certificate names the host as bootstrap_servers writes it, and tls.cert_file and key_file if the broker asks for a client certificate.";
  const networkFix = 'Check the network path and firewall to the central Kafka, the host names and ports, and TLS on or off as the listener expects.';
  const fixes = tlsProblems === problems.length ? [tlsFix] : tlsProblems > 0 ? [tlsFix, networkFix] : [networkFix];
  return {
    level: 'warn',
    name,
    message: `no bootstrap server answered (${problems.join('; ')})`,
    fix: `${fixes.join(' ')} Weir keeps storing meanwhile and mirrors once it can connect.`,
  };
}

function loginRefused(name: string, upstream: UpstreamSpec, server: string, problem: string): CheckResult {
  const sasl = upstream.sasl!;
  return {
    level: 'warn',
    name,
    message: `${server} answers as a Kafka broker, but logging in with SASL ${sasl.mechanism} as ${sasl.username} failed: ${problem}`,
    fix: `Check sasl.username, sasl.mechanism and the password in ${sasl.passwordFile} with the central Kafka's administrators. Weir keeps storing meanwhile and mirrors once it can log in.`,
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
