/**
 * The Kafka protocol TCP listener: accepts connections up to a cap and hands each to a
 * KafkaConnection with the handler registry. One stop path: stop accepting, let every
 * connection answer what it is serving (long polls return early), then close.
 *
 * Idle connections close after `connectionsMaxIdleMs` (no byte read or written, nothing being
 * served), a request still arriving `requestReadTimeoutMs` after its first byte closes its
 * connection, and at `maxConnections` a new connection closes the longest-idle one (nothing in
 * flight) to take its place; only when every connection is busy is the new one refused. Idle
 * sockets therefore cannot hold the cap against active clients.
 *
 * Security, as Kafka names it: PLAINTEXT, SSL (TLS; with a client CA, clients must present a
 * certificate it signed), SASL_PLAINTEXT or SASL_SSL (SASL PLAIN / SCRAM-SHA-256, sasl/).
 */
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { WeirError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { isLoopbackHost } from '../../loopback.js';
import { memoryGuard } from '../../memory-guard.js';
import { ByteBudget } from './byte-budget.js';
import { KafkaConnection } from './connection.js';
import type { BrokerInfo, KafkaHandler } from './handler.js';
import { createApiVersionsHandler } from './handlers/api-versions.js';
import { HandlerRegistry } from './registry.js';
import { SaslServer } from './sasl/index.js';
import type { SaslMechanism } from './sasl/mechanisms.js';
import { KafkaServerStats } from './stats.js';

export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

export interface KafkaTlsOptions {
  certFile: string;
  keyFile: string;
  /** PEM CA bundle: when set, clients must present a certificate signed by it (mutual TLS). */
  caFile?: string;
}

export interface KafkaListenerOptions {
  host: string;
  /** 0 asks the OS for a free port (tests). */
  port: number;
  /** 'auto': the listen host, or 127.0.0.1 for a wildcard listen address. */
  advertisedHost: string | 'auto';
  /** 'auto': the bound port. */
  advertisedPort: number | 'auto';
  allowUnauthenticatedNonLoopback: boolean;
  maxFrameBytes: number;
  maxConnections: number;
  maxInFlightPerConnection: number;
  /** Listener-wide cap on request bytes decoded and not yet answered (byte-budget.ts); default 32 MiB. */
  maxQueuedRequestBytes?: number;
  /** Most bytes a Fetch response carries (KIP-74's first batch aside), whatever the request asks; default 8 MiB. */
  fetchMaxBytes?: number;
  /** Listener-wide cap on fetch response bytes not yet taken by their sockets; default 32 MiB. */
  maxQueuedResponseBytes?: number;
  /** A connection with nothing read, written or served for this long is closed; default 120 s. */
  connectionsMaxIdleMs?: number;
  /** A request not whole this long after its first byte closes its connection; default 30 s. */
  requestReadTimeoutMs?: number;
  /** Every handler but ApiVersions, which the listener adds (its ranges come from these). */
  handlers: readonly KafkaHandler[];
  /** SASL (PLAIN, SCRAM-SHA-256) required of every connection; off when undefined. */
  sasl?: { mechanisms: readonly SaslMechanism[]; credentialsFile: string };
  /** TLS on the listener; plain TCP when undefined. */
  tls?: KafkaTlsOptions;
  /** Counters for metrics and the status page (one is made when not given). */
  stats?: KafkaServerStats;
  /** Node id clients see for this broker (Metadata, FindCoordinator). */
  nodeId?: number;
  clusterId?: string;
  logger: Logger;
}

export interface KafkaListener {
  readonly address: AddressInfo;
  readonly broker: BrokerInfo;
  readonly registry: HandlerRegistry;
  readonly security: SecurityProtocol;
  readonly stats: KafkaServerStats;
  /** SASL logins that succeeded and failed (when SASL is on). */
  saslCounters(): { succeeded: number; failed: number } | undefined;
  connectionCount(): number;
  /** Request bytes held now and at most so far (kafka.max_queued_request_bytes). */
  queuedRequestBytes(): { now: number; peak: number };
  /** Fetch response bytes held now and at most so far (kafka.max_queued_response_bytes). */
  queuedResponseBytes(): { now: number; peak: number };
  close(): Promise<void>;
}

/** Same as the config defaults (kafka.max_queued_request_bytes, fetch_max_bytes, connections_max_idle_ms, request_read_timeout_ms). */
export const DEFAULT_MAX_QUEUED_REQUEST_BYTES = 32 * 1024 * 1024;
export const DEFAULT_FETCH_MAX_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_QUEUED_RESPONSE_BYTES = 32 * 1024 * 1024;
export const DEFAULT_CONNECTIONS_MAX_IDLE_MS = 120_000;
export const DEFAULT_REQUEST_READ_TIMEOUT_MS = 30_000;

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '0:0:0:0:0:0:0:0']);

/** The advertised host: never a wildcard, which a client cannot connect to (it would dial itself or fail). */
export function advertisedHostFor(listenHost: string, configured: string | 'auto'): string {
  if (configured !== 'auto') {
    if (WILDCARDS.has(configured)) {
      throw new WeirError('CONFIG_INVALID', `kafka.advertised_host ${configured} is a wildcard address that clients cannot connect to`, {
        details: { field: 'kafka.advertised_host' },
      });
    }
    return configured;
  }
  return WILDCARDS.has(listenHost) ? '127.0.0.1' : listenHost;
}

export async function startKafkaListener(opts: KafkaListenerOptions): Promise<KafkaListener> {
  const log = opts.logger.child({ component: 'kafka' });
  refuseUnauthenticatedNonLoopback(opts);
  const advertisedHost = advertisedHostFor(opts.host, opts.advertisedHost);
  const stats = opts.stats ?? new KafkaServerStats();
  const sasl = opts.sasl === undefined ? undefined : new SaslServer(opts.sasl, log);
  const security = securityProtocolOf(opts.tls !== undefined, sasl !== undefined);
  // ApiVersions is always served: it is how a client learns everything else. The SASL APIs
  // are registered, and so advertised, only when SASL is on: without it there is nothing to
  // authenticate against, and a client must not be invited to try.
  const registry: HandlerRegistry = new HandlerRegistry([createApiVersionsHandler(() => registry.ranges()), ...opts.handlers, ...(sasl?.handlers() ?? [])]);
  const connections = new Set<KafkaConnection>();
  const budget = new ByteBudget(opts.maxQueuedRequestBytes ?? DEFAULT_MAX_QUEUED_REQUEST_BYTES);
  const responseBudget = new ByteBudget(opts.maxQueuedResponseBytes ?? DEFAULT_MAX_QUEUED_RESPONSE_BYTES);
  let broker: BrokerInfo | undefined;
  const accept = connectionAcceptor({ opts, log, stats, registry, budget, responseBudget, sasl, connections, broker: () => broker! });
  const server = await listen(opts, accept, stats, log);
  const sweep = startIdleSweep(connections, opts.connectionsMaxIdleMs ?? DEFAULT_CONNECTIONS_MAX_IDLE_MS, opts.requestReadTimeoutMs ?? DEFAULT_REQUEST_READ_TIMEOUT_MS);
  const address = server.address() as AddressInfo;
  broker = Object.freeze({
    nodeId: opts.nodeId ?? 0,
    host: advertisedHost,
    port: opts.advertisedPort === 'auto' ? address.port : opts.advertisedPort,
    clusterId: opts.clusterId ?? 'weir',
  });
  log.info(
    { address: `${address.address}:${address.port}`, advertised: `${broker.host}:${broker.port}`, apis: registry.ranges().length, security, ...(sasl === undefined ? {} : { saslMechanisms: sasl.mechanisms, saslUsers: sasl.userCount }) },
    'kafka listener started',
  );

  let closing: Promise<void> | undefined;
  return {
    address,
    broker,
    registry,
    security,
    stats,
    saslCounters: () => (sasl === undefined ? undefined : { ...sasl.counters }),
    connectionCount: () => connections.size,
    queuedRequestBytes: () => ({ now: budget.usedBytes, peak: budget.peakBytes }),
    queuedResponseBytes: () => ({ now: responseBudget.usedBytes, peak: responseBudget.peakBytes }),
    close() {
      closing ??= (async () => {
        clearInterval(sweep);
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...connections].map((c) => c.drainAndClose()));
        await stopped;
        log.info('kafka listener stopped');
      })();
      return closing;
    },
  };
}

/** SASL, or TLS that checks client certificates, authenticates; plain TLS only encrypts. */
function refuseUnauthenticatedNonLoopback(opts: KafkaListenerOptions): void {
  const authenticated = opts.sasl !== undefined || (opts.tls?.caFile ?? '') !== '';
  if (isLoopbackHost(opts.host) || authenticated || opts.allowUnauthenticatedNonLoopback) return;
  throw new WeirError(
    'CONFIG_INVALID',
    `kafka.listen ${opts.host}:${opts.port} is not a loopback address and the Kafka listener has no authentication: set kafka.sasl_credentials_file (users made with weir users add --kafka) or kafka.tls_ca_file for client certificates, keep it on 127.0.0.1, or set kafka.allow_unauthenticated_non_loopback: true behind a firewall`,
    { details: { field: 'kafka.listen', host: opts.host, port: opts.port } },
  );
}

function securityProtocolOf(tls: boolean, sasl: boolean): SecurityProtocol {
  if (tls) return sasl ? 'SASL_SSL' : 'SSL';
  return sasl ? 'SASL_PLAINTEXT' : 'PLAINTEXT';
}

/** What a new connection is given; `broker` is read once the listener is bound. */
interface AcceptContext {
  opts: KafkaListenerOptions;
  log: Logger;
  stats: KafkaServerStats;
  registry: HandlerRegistry;
  budget: ByteBudget;
  responseBudget: ByteBudget;
  sasl: SaslServer | undefined;
  connections: Set<KafkaConnection>;
  broker: () => BrokerInfo;
}

/** Admits a socket as a KafkaConnection, evicting the longest idle one at the cap, or refuses it. */
function connectionAcceptor(ctx: AcceptContext): (socket: Socket) => void {
  const { opts, log, stats, connections } = ctx;
  let nextId = 1;
  return (socket) => {
    if (!memoryGuard.admit(socket)) return; // near MemoryHigh=: refused; otherwise unread while memory is short
    const evict = connections.size >= opts.maxConnections ? longestIdle(connections) : undefined;
    evict?.close('longest idle, to admit a new one at kafka.max_connections', {}, 'evicted_idle');
    if (connections.size >= opts.maxConnections) {
      stats.closed.max_connections++;
      log.warn({ remote: socket.remoteAddress, max: opts.maxConnections }, 'kafka connection refused: kafka.max_connections reached');
      socket.destroy();
      return;
    }
    stats.connectionsAccepted++;
    const conn: KafkaConnection = new KafkaConnection({
      id: nextId++,
      socket,
      registry: ctx.registry,
      broker: ctx.broker,
      log,
      maxFrameBytes: opts.maxFrameBytes,
      maxInFlight: opts.maxInFlightPerConnection,
      budget: ctx.budget,
      fetchMaxBytes: opts.fetchMaxBytes ?? DEFAULT_FETCH_MAX_BYTES,
      responseBudget: ctx.responseBudget,
      ...(ctx.sasl === undefined ? {} : { sasl: ctx.sasl }),
      stats,
      onClose: () => {
        connections.delete(conn);
      },
    });
    connections.add(conn);
  };
}

/** The connection idle longest with nothing in flight, if any. */
function longestIdle(connections: ReadonlySet<KafkaConnection>): KafkaConnection | undefined {
  const now = Date.now();
  let best: KafkaConnection | undefined;
  let bestIdle = -1;
  for (const c of connections) {
    const idle = c.idleMs(now);
    if (idle > bestIdle) {
      best = c;
      bestIdle = idle;
    }
  }
  return best;
}

/** A TCP or TLS server bound to the listen address; a bind error rejects, later errors are logged. */
async function listen(opts: KafkaListenerOptions, accept: (socket: Socket) => void, stats: KafkaServerStats, log: Logger): Promise<Server> {
  const server: Server = opts.tls === undefined ? createServer(accept) : createTlsServer(tlsOptions(opts.tls), accept);
  server.on('tlsClientError', (err: Error, socket: Socket) => {
    stats.closed.tls_handshake++;
    log.warn({ err: err.message, remote: socket.remoteAddress }, 'kafka TLS handshake failed');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'kafka listener error'));
  return server;
}

/** Closes connections idle past `idleMs` and those with a request still arriving past `readTimeoutMs`. */
function startIdleSweep(connections: ReadonlySet<KafkaConnection>, idleMs: number, readTimeoutMs: number): NodeJS.Timeout {
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const c of connections) {
      const idle = c.idleMs(now);
      if (idle > idleMs) c.close('idle', { idleMs: idle, max: idleMs }, 'idle');
      else if (c.partialRequestMs(now) > readTimeoutMs) c.close('request not read in time', { max: readTimeoutMs }, 'slow_request');
    }
  }, Math.max(10, Math.min(1_000, idleMs / 4, readTimeoutMs / 4)));
  sweep.unref();
  return sweep;
}

function tlsOptions(t: KafkaTlsOptions): import('node:tls').TlsOptions {
  const read = (file: string, field: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new WeirError('CONFIG_INVALID', `${field} ${file} cannot be read: ${(err as Error).message}`, { cause: err, details: { field, file } });
    }
  };
  const ca = t.caFile === undefined || t.caFile === '' ? undefined : read(t.caFile, 'kafka.tls_ca_file');
  return {
    cert: read(t.certFile, 'kafka.tls_cert_file'),
    key: read(t.keyFile, 'kafka.tls_key_file'),
    ...(ca === undefined ? {} : { ca, requestCert: true, rejectUnauthorized: true }),
  };
}
