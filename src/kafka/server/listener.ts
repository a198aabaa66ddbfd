/**
 * The Kafka protocol TCP listener: accepts connections up to a cap and hands each to a
 * KafkaConnection with the handler registry. One stop path: stop accepting, let every
 * connection answer what it is serving (long polls return early), then close.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { WeirError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { isLoopbackHost } from '../../loopback.js';
import { ByteBudget } from './byte-budget.js';
import { KafkaConnection } from './connection.js';
import type { BrokerInfo, KafkaHandler } from './handler.js';
import { createApiVersionsHandler } from './handlers/api-versions.js';
import { HandlerRegistry } from './registry.js';

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
  /** Every handler but ApiVersions, which the listener adds (its ranges come from these). */
  handlers: readonly KafkaHandler[];
  /** Node id clients see for this broker (Metadata, FindCoordinator). */
  nodeId?: number;
  clusterId?: string;
  logger: Logger;
}

export interface KafkaListener {
  readonly address: AddressInfo;
  readonly broker: BrokerInfo;
  readonly registry: HandlerRegistry;
  connectionCount(): number;
  /** Request bytes held now and at most so far (kafka.max_queued_request_bytes). */
  queuedRequestBytes(): { now: number; peak: number };
  close(): Promise<void>;
}

/** Same as the config default (kafka.max_queued_request_bytes). */
export const DEFAULT_MAX_QUEUED_REQUEST_BYTES = 32 * 1024 * 1024;

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '0:0:0:0:0:0:0:0']);

/** The advertised host: never a wildcard, which clients cannot connect to (KAFKA-PROTOCOL.md). */
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
  if (!isLoopbackHost(opts.host) && !opts.allowUnauthenticatedNonLoopback) {
    throw new WeirError(
      'CONFIG_INVALID',
      `kafka.listen ${opts.host}:${opts.port} is not a loopback address and the Kafka listener has no authentication yet (SASL is not built): keep it on 127.0.0.1, or set kafka.allow_unauthenticated_non_loopback: true behind a firewall`,
      { details: { field: 'kafka.listen', host: opts.host, port: opts.port } },
    );
  }
  const advertisedHost = advertisedHostFor(opts.host, opts.advertisedHost);
  // ApiVersions is always served: it is how a client learns everything else.
  const registry: HandlerRegistry = new HandlerRegistry([createApiVersionsHandler(() => registry.ranges()), ...opts.handlers]);
  const connections = new Set<KafkaConnection>();
  const budget = new ByteBudget(opts.maxQueuedRequestBytes ?? DEFAULT_MAX_QUEUED_REQUEST_BYTES);
  let nextId = 1;
  let broker: BrokerInfo | undefined;

  const server: Server = createServer((socket) => {
    if (connections.size >= opts.maxConnections) {
      log.warn({ remote: socket.remoteAddress, max: opts.maxConnections }, 'kafka connection refused: kafka.max_connections reached');
      socket.destroy();
      return;
    }
    const conn = new KafkaConnection({
      id: nextId++,
      socket,
      registry,
      broker: () => broker!,
      log,
      maxFrameBytes: opts.maxFrameBytes,
      maxInFlight: opts.maxInFlightPerConnection,
      budget,
      onClose: () => connections.delete(conn),
    });
    connections.add(conn);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'kafka listener error'));
  const address = server.address() as AddressInfo;
  broker = Object.freeze({
    nodeId: opts.nodeId ?? 0,
    host: advertisedHost,
    port: opts.advertisedPort === 'auto' ? address.port : opts.advertisedPort,
    clusterId: opts.clusterId ?? 'weir',
  });
  log.info({ address: `${address.address}:${address.port}`, advertised: `${broker.host}:${broker.port}`, apis: registry.ranges().length }, 'kafka listener started');

  let closing: Promise<void> | undefined;
  return {
    address,
    broker,
    registry,
    connectionCount: () => connections.size,
    queuedRequestBytes: () => ({ now: budget.usedBytes, peak: budget.peakBytes }),
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...connections].map((c) => c.drainAndClose()));
        await stopped;
        log.info('kafka listener stopped');
      })();
      return closing;
    },
  };
}
