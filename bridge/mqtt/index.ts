/**
 * The MQTT door into Weir: aedes inside the weir process behind a plain TCP listener (and an
 * optional TLS one), with every accepted PUBLISH appended to the log before it is acknowledged
 * (see ingest.ts).
 *
 * Secure defaults in the spirit of mosquitto 2.0: listeners bind loopback unless told
 * otherwise, and a listener on any other address refuses to start unless authentication is
 * configured (password file, or TLS client certificates) or `mqtt.allow_anonymous: true` says
 * anonymous access is meant. Bad input costs only its sender: a limit breach or a malformed
 * packet closes that one connection.
 */
import { Aedes, type Client } from 'aedes';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { WeirError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { isLoopbackHost } from '../../src/loopback.js';
import type { KeyValueStore, RecordLog, TopicAdmin } from '../../src/store/types.js';
import type { AclEntry } from './acl.js';
import { authHooks } from './auth.js';
import { Ingest, RefusedPublish, type UnmatchedPolicy } from './ingest.js';
import { connectionHandler, createTlsServer, createWsServer, listen, type HostPort, type TlsListenerOptions } from './listeners.js';
import { IdleConnections } from './idle.js';
import { LocalEmitter } from './local-emitter.js';
import { DeliveryStats, OutgoingBudget } from './outgoing-budget.js';
import { WarnLimiter } from './warn-limiter.js';
import { Mapper, compileRule, defaultRule, type CompiledRule } from './mapping.js';
import { lmdbPersistence, type LmdbPersistence, type LmdbPersistenceOptions } from './persistence/index.js';
import { aedesMemoryPersistence, ReleaseReportingPersistence } from './persistence/release-reporting.js';
import { applyMqttSpeedups, logSpeedups } from './speedups/index.js';
import type { ConnectionStats, MqttStats } from './stats.js';

export type { MqttStats } from './stats.js';
export type { TlsListenerOptions } from './listeners.js';

/** Deliveries the message bus runs at once before queueing: aedes's default. */
const MQ_CONCURRENCY = 100;

export interface MqttBridgeOptions {
  listen: HostPort;
  /** Optional TLS listener. */
  tls: TlsListenerOptions | undefined;
  /** Optional MQTT-over-WebSocket listener. */
  ws: HostPort | undefined;
  allowAnonymous: boolean;
  /** Password file (`weir users`); when set, clients must log in unless allowAnonymous. */
  passwordFile: string | undefined;
  acl: readonly AclEntry[];
  rules: readonly CompiledRule[];
  unmatched: UnmatchedPolicy;
  /** Log topic of the default rule (`mqtt.unmatched: store`). */
  unmatchedTopic: string;
  autoCreateTopics: boolean;
  /** Topic configs of the log topics ingest creates (`mqtt.created_topic_*`). */
  createdTopicConfigs: Readonly<Record<string, string>>;
  maxConnections: number;
  /** Largest MQTT Remaining Length accepted [MQTT-2.2.3]. */
  maxPacketSize: number;
  maxInflightPerClient: number;
  /** Bytes a connection may have unsent before deliveries to it are dropped or left queued. */
  maxOutgoingBytesPerClient: number;
  maxRetained: number;
  /** Where MQTT state lives: the log's LMDB environment (survives restarts) or aedes's memory. */
  persistence: 'lmdb' | 'memory';
  /** Queued QoS 1/2 messages per persistent session (lmdb persistence). */
  maxQueuedPerClient: number;
  /** Queued QoS 1/2 messages across all sessions (lmdb persistence). */
  maxQueuedTotal: number;
  /** Payload bytes stored for all sessions' queues (lmdb persistence). */
  maxQueuedBytes: number;
  /** Largest keep-alive a client may ask for, in seconds; 0 = any (including none). */
  keepaliveLimitS: number;
  /** How long a new connection has to send its CONNECT. */
  connectTimeoutMs: number;
  /** How long a keep-alive 0 client may send nothing before it is disconnected; 0 = never. */
  idleTimeoutMs: number;
}

export interface MqttBridge {
  /** The bound address (the real port when `listen` asked for port 0). */
  readonly address: HostPort;
  /** The TLS listener's bound address, when there is one. */
  readonly tlsAddress: HostPort | undefined;
  /** The WebSocket listener's bound address, when there is one. */
  readonly wsAddress: HostPort | undefined;
  stats(): MqttStats;
  /** Stops accepting, lets appends under way finish (their acks go out), then closes clients. */
  close(): Promise<void>;
}

function checkExposure(options: MqttBridgeOptions): void {
  // Anonymous access on the network is fine when the operator said so explicitly.
  const authenticated = options.allowAnonymous || options.passwordFile !== undefined;
  const exposed: [string, HostPort][] = [];
  if (!isLoopbackHost(options.listen.host) && !authenticated) exposed.push(['mqtt.listen', options.listen]);
  if (options.tls !== undefined && !isLoopbackHost(options.tls.listen.host) && !authenticated && !options.tls.requireClientCert) {
    exposed.push(['mqtt.tls_listen', options.tls.listen]);
  }
  if (options.ws !== undefined && !isLoopbackHost(options.ws.host) && !authenticated) exposed.push(['mqtt.ws_listen', options.ws]);
  const [field, at] = exposed[0] ?? [];
  if (field === undefined || at === undefined) return;
  throw new WeirError(
    'CONFIG_INVALID',
    `${field} is ${at.host}:${at.port}, which is not loopback, and no MQTT authentication is configured: ` +
      'set mqtt.password_file (users made with weir users add), mqtt.tls_require_client_cert on the TLS listener, ' +
      'or mqtt.allow_anonymous: true to accept anonymous clients from the network; or bind 127.0.0.1',
    { details: { field, host: at.host } },
  );
}

/**
 * Refuses an exposed listener without authentication, applies the speed-ups (a no-op for those the
 * executable applied), wires aedes to the ingest and the persistence, then opens the listeners.
 */
export async function startMqttBridge(options: MqttBridgeOptions, store: RecordLog & TopicAdmin & KeyValueStore, logger: Logger): Promise<MqttBridge> {
  const log = logger.child({ component: 'mqtt' });
  checkExposure(options);
  logSpeedups(applyMqttSpeedups(), log);
  const ingest = createIngest(options, store, log);
  const conns: ConnectionStats = {
    open: 0, accepted: 0, rejectedMaxConnections: 0, closedOversize: 0, closedIdle: 0, closedProtocolError: 0, authFailed: 0, aclDenied: 0, tlsHandshakeFailed: 0,
  };
  const lmdb = options.persistence === 'lmdb' ? lmdbPersistence(store, queueCaps(options), log) : undefined;
  const deliveries = new DeliveryStats();
  const idle = new IdleConnections(options.idleTimeoutMs, conns, log);
  const broker = await startBroker(options, { ingest, conns, lmdb, deliveries, idle }, log);
  reportClientErrors(broker, conns, log);
  const sockets = new Set<Duplex>();
  const { servers, addresses } = await openListeners(broker, sockets, options, conns, log).catch(async (err: unknown) => {
    idle.stop();
    await closeBroker(broker);
    throw err;
  });
  log.info({ ...addresses, rules: options.rules.length, unmatched: options.unmatched }, 'MQTT listener started');
  return runningBridge({ broker, servers, sockets, addresses, ingest, conns, lmdb, deliveries, idle }, log);
}

/** The ingest, with the default rule last when unmatched messages are stored. */
function createIngest(options: MqttBridgeOptions, store: RecordLog & TopicAdmin, log: Logger): Ingest {
  const rules = [...options.rules];
  if (options.unmatched === 'store') rules.push(compileRule(defaultRule(options.unmatchedTopic), rules.length, []));
  return new Ingest(store, {
    mapper: new Mapper(rules),
    unmatched: options.unmatched,
    autoCreateTopics: options.autoCreateTopics,
    createdTopicConfigs: options.createdTopicConfigs,
    maxInflightPerClient: options.maxInflightPerClient,
    maxRetained: options.maxRetained,
  }, log);
}

function queueCaps(options: MqttBridgeOptions): LmdbPersistenceOptions {
  return { maxRetained: options.maxRetained, maxPerClient: options.maxQueuedPerClient, maxTotal: options.maxQueuedTotal, maxBytes: options.maxQueuedBytes };
}

/** What the broker is wired to; `lmdb` is unset for `mqtt.persistence: memory`. */
interface BrokerParts {
  ingest: Ingest;
  conns: ConnectionStats;
  lmdb: LmdbPersistence | undefined;
  deliveries: DeliveryStats;
  idle: IdleConnections;
}

/** aedes wired to the ingest, its persistence loaded (`listen()`), the ingest told what it holds. */
async function startBroker(options: MqttBridgeOptions, parts: BrokerParts, log: Logger): Promise<Aedes> {
  const { ingest, conns, lmdb, deliveries, idle } = parts;
  const persistence = new ReleaseReportingPersistence(lmdb ?? aedesMemoryPersistence(), (client, messageId) => ingest.released(client, messageId));
  const budget = new OutgoingBudget(options.maxOutgoingBytesPerClient, lmdb !== undefined, deliveries, log);
  const broker = new Aedes({
    ...authHooks(options, ingest, conns, log),
    authorizeForward: budget.authorizeForward,
    persistence,
    concurrency: MQ_CONCURRENCY,
    mq: new LocalEmitter(MQ_CONCURRENCY, { awaitListeners: false, mutes: budget }),
    // [MQTT-3.1.2-24] a client silent for 1.5× its keep-alive is disconnected; the limit makes
    // clients ask for one, so half-open connections cannot hold slots forever.
    keepaliveLimit: options.keepaliveLimitS,
    connectTimeout: options.connectTimeoutMs,
    preConnect: idle.preConnect,
  });
  await broker.listen();
  // The retained cap counts the retained messages that survived the restart too.
  if (lmdb !== undefined) ingest.seedRetained(lmdb.retainedTopics());
  // On a new connection of a persistent session the ingest's map of QoS 2 ids is empty, so a DUP
  // PUBLISH is also looked up in the incoming store before it is appended a second time.
  ingest.incomingStored = (client, messageId) => persistence.incomingGetPacket(client, { messageId }).then(
    (found) => found !== undefined && found !== null,
    () => false,
  );
  return broker;
}

/**
 * aedes reports an error for each packet still in flight when a connection fails (a client that
 * drops with 16 PUBLISHes outstanding gives 16 "connection closed"): one per connection, and of
 * those one line per 10 s (a thousand clients dropping at once are one line with a count).
 */
function reportClientErrors(broker: Aedes, conns: ConnectionStats, log: Logger): void {
  const erred = new WeakSet<Client>();
  const infoSink = { warn: (fields: Record<string, unknown>, message: string) => log.info(fields, message) };
  const disconnects = new WarnLimiter(infoSink);
  const earlyCloses = new WarnLimiter(infoSink);
  broker.on('clientError', (client, err) => {
    if (err instanceof RefusedPublish) return; // already logged with its reason
    if (erred.has(client)) return;
    erred.add(client);
    conns.closedProtocolError++;
    disconnects.warn({ clientId: client.id, err: err.message }, 'client disconnected after an error');
  });
  broker.on('connectionError', (_client, err) => {
    conns.closedProtocolError++;
    earlyCloses.warn({ err: err.message }, 'connection closed before CONNECT completed');
  });
}

interface ListenerAddresses {
  address: HostPort;
  tlsAddress: HostPort | undefined;
  wsAddress: HostPort | undefined;
}

/** The TCP listener, and the TLS and WebSocket ones when configured; none stays open if one fails. */
async function openListeners(
  broker: Aedes, sockets: Set<Duplex>, options: MqttBridgeOptions, conns: ConnectionStats, log: Logger,
): Promise<{ servers: net.Server[]; addresses: ListenerAddresses }> {
  const servers: net.Server[] = [];
  try {
    const accept = connectionHandler(broker, sockets, options, conns, log);
    const tcp = net.createServer(accept);
    servers.push(tcp);
    const address = await listen(tcp, options.listen, log, 'MQTT');
    let tlsAddress: HostPort | undefined;
    let wsAddress: HostPort | undefined;
    if (options.tls !== undefined) {
      const tlsServer = createTlsServer(options.tls, accept, conns, log);
      servers.push(tlsServer);
      tlsAddress = await listen(tlsServer, options.tls.listen, log, 'MQTT TLS');
    }
    if (options.ws !== undefined) {
      const wsServer = createWsServer(accept, options.maxPacketSize, log);
      servers.push(wsServer);
      wsAddress = await listen(wsServer, options.ws, log, 'MQTT WebSocket');
    }
    return { servers, addresses: { address, tlsAddress, wsAddress } };
  } catch (err) {
    for (const server of servers) server.close();
    throw err;
  }
}

function closeBroker(broker: Aedes): Promise<void> {
  return new Promise((resolve) => broker.close(() => resolve()));
}

interface RunningParts extends Omit<BrokerParts, 'conns'> {
  broker: Aedes;
  servers: net.Server[];
  sockets: Set<Duplex>;
  addresses: ListenerAddresses;
  conns: ConnectionStats;
}

/** The running bridge: its addresses, its stats, and its shutdown. */
function runningBridge(parts: RunningParts, log: Logger): MqttBridge {
  const { broker, servers, sockets, ingest, conns, lmdb, deliveries, idle } = parts;
  let closing: Promise<void> | undefined;
  return {
    ...parts.addresses,
    stats: () => ({
      connections: { ...conns, open: sockets.size },
      received: [...ingest.stats.received],
      appended: ingest.stats.appended,
      duplicates: ingest.stats.duplicates,
      unmatchedDropped: ingest.stats.unmatchedDropped,
      retries: ingest.stats.retries,
      inflightWaits: ingest.stats.inflightWaits,
      retainRefused: ingest.stats.retainRefused,
      persistence: lmdb?.stats(),
      deliveries: { ...deliveries },
      refused: Object.fromEntries(ingest.stats.refused),
    }),
    close() {
      closing ??= (async () => {
        const serversClosed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
        idle.stop();
        await ingest.drain();
        await closeBroker(broker);
        for (const socket of sockets) socket.destroy();
        await Promise.all(serversClosed);
        log.info('MQTT listener stopped');
      })();
      return closing;
    },
  };
}
