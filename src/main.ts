/**
 * The one place that wires Weir together and the one path that takes it apart again.
 *
 * Start order is bottom-up (the store first, since everything else writes to it); shutdown is
 * the reverse: stop accepting new work, let in-flight commits finish, then close LMDB. Each
 * component adds a stop step as it starts; nothing else in Weir stops the process.
 */
import type { AddressInfo } from 'node:net';
import { startMqttBridge } from '../bridge/mqtt/index.js';
import type { HostPort } from '../bridge/mqtt/listeners.js';
import { registerMqttMetrics } from '../bridge/mqtt/metrics.js';
import { mqttOptionsFromConfig } from '../bridge/mqtt/options.js';
import { mqttStatusSection } from '../bridge/mqtt/status.js';
import { startMirror } from '../bridge/mirror/index.js';
import { mirrorStatusSection, registerMirrorMetrics } from '../bridge/mirror/status.js';
import type { Registry } from 'prom-client';
import { processWriteBytes } from './admin/flash-wear.js';
import { createMetrics, registerMemoryGuardMetrics } from './admin/metrics.js';
import { Readiness } from './admin/readiness.js';
import { startAdminServer } from './admin/server.js';
import { StatusLine } from './admin/status-line.js';
import { StatusRates } from './admin/status-rates.js';
import { statusSnapshot, type StatusSection } from './admin/status.js';
import { WearWindow } from './admin/wear-window.js';
import { weirVersion } from './version.js';
import type { WeirConfig } from './config/schema.js';
import { WeirError } from './errors.js';
import { isLoopbackHost } from './loopback.js';
import { listenError } from './listen-error.js';
import { storeOptionsFromConfig } from './config/store-options.js';
import type { Logger } from './logger.js';
import { coreHandlers } from './kafka/server/handlers/index.js';
import { startKafkaListener, type KafkaListener } from './kafka/server/listener.js';
import { registerKafkaMetrics } from './kafka/server/metrics.js';
import { kafkaSecurityFromConfig } from './kafka/server/security.js';
import { KafkaServerStats } from './kafka/server/stats.js';
import { kafkaStatusSection } from './kafka/server/status.js';
import { GroupCoordinator } from './kafka/server/groups/coordinator.js';
import { groupHandlers } from './kafka/server/groups/handlers/index.js';
import { ProducerStateManager } from './kafka/server/producer-state.js';
import { TransactionCoordinator } from './kafka/server/transactions/coordinator.js';
import { transactionHandlers } from './kafka/server/transactions/handlers.js';
import { producerIdsFrom } from './kafka/server/transactions/options.js';
import { memoryGuard } from './memory-guard.js';
import { resolveMemoryHigh, resolveProfile } from '../device/profiles.js';
import { openStore } from './store/index.js';
import type { LogStore, StoreOptions } from './store/types.js';

export interface ShutdownResult {
  reason: string;
  durationMs: number;
  /** The steps had not all finished when shutdown.timeout_ms ran out. */
  timedOut: boolean;
  /** Steps that failed (already logged with their error). */
  failed: string[];
}

export interface RunningWeir {
  readonly config: WeirConfig;
  readonly storeOptions: Readonly<StoreOptions>;
  readonly store: LogStore;
  /** Components register here what must be up before Weir is ready (/readyz, READY=1). */
  readonly readiness: Readiness;
  /** The Prometheus registry behind /metrics; components add their own metrics to it. */
  readonly metrics: Registry;
  readonly statusSections: Map<string, StatusSection>;
  /** The one-line summary for systemd's STATUS=; components add their part. */
  readonly statusLine: StatusLine;
  /** Where the admin HTTP listener is bound, when enabled. */
  readonly adminAddress: AddressInfo | undefined;
  /** Where the Kafka listener is bound, when enabled. */
  readonly kafkaAddress: AddressInfo | undefined;
  /** Where the plain-TCP MQTT listener is bound, when enabled. */
  readonly mqttAddress: HostPort | undefined;
  /**
   * Stops everything once, in reverse start order, bounded by `shutdown.timeout_ms`. Safe to call
   * more than once: later calls get the first call's result.
   */
  shutdown(reason: string): Promise<ShutdownResult>;
}

interface StopStep {
  name: string;
  stop(): Promise<void>;
}

type ReadinessFlag = ReturnType<Readiness['flag']>;

/** What each start step gets: the store, the registries components add to, and the stop steps so far. */
interface Wiring {
  readonly config: WeirConfig;
  readonly logger: Logger;
  readonly storeOptions: StoreOptions;
  readonly store: LogStore;
  readonly wear: WearWindow;
  readonly readiness: Readiness;
  readonly metrics: Registry;
  /** Sections other components add to the status page (MQTT clients, mirror state). */
  readonly statusSections: Map<string, StatusSection>;
  readonly statusLine: StatusLine;
  /** JSON endpoints other components add to the admin listener (`/api/mirror`). */
  readonly apiRoutes: Map<string, () => unknown>;
  readonly steps: StopStep[];
  /** The mirror starts after the store; the store's drops are handed to it once it runs. */
  onDropForMirror: StoreOptions['onDrop'];
}

export async function startWeir(config: WeirConfig, logger: Logger): Promise<RunningWeir> {
  const w = await openStoreAndRegistries(config, logger);
  startMemoryGuard(w);
  // Listeners register before any of them starts, so /readyz (served first) says what it waits for.
  const kafkaReady = config.kafka.enabled ? w.readiness.flag('kafka') : undefined;
  const mqttReady = config.mqtt.enabled ? w.readiness.flag('mqtt') : undefined;
  const adminAddress = config.admin.enabled ? await startAdmin(w) : undefined;
  const kafkaAddress = kafkaReady !== undefined ? await startKafka(w, kafkaReady) : undefined;
  const mqttAddress = mqttReady !== undefined ? await startMqtt(w, mqttReady) : undefined;
  if (config.mirror.upstreams.length > 0 || config.mirror.rules.length > 0) await startMirrorStep(w);

  const log = logger.child({ component: 'main' });
  let stopping: Promise<ShutdownResult> | undefined;
  return {
    config,
    storeOptions: w.storeOptions,
    store: w.store,
    readiness: w.readiness,
    metrics: w.metrics,
    statusSections: w.statusSections,
    statusLine: w.statusLine,
    adminAddress,
    kafkaAddress,
    mqttAddress,
    shutdown(reason: string): Promise<ShutdownResult> {
      stopping ??= runShutdown(w.steps, reason, config.shutdown.timeout_ms, log);
      return stopping;
    },
  };
}

/** Opens the store (everything else writes to it) and creates the registries components add to. */
async function openStoreAndRegistries(config: WeirConfig, logger: Logger): Promise<Wiring> {
  const storeOptions = storeOptionsFromConfig(config);
  let w: Wiring | undefined;
  storeOptions.onDrop = (event) => w?.onDropForMirror?.(event);
  if (config.store.disk_budget_bytes === 'auto') {
    logger
      .child({ component: 'main' })
      .info({ dir: storeOptions.dir, diskBudgetBytes: storeOptions.diskBudgetBytes }, 'disk budget auto: 75% of free space plus the data already stored');
  }
  // The store makes its own child logger ({ component: 'store' }).
  const store = await openStore(storeOptions, logger);
  // One-minute samples of the bytes written, for the last hour's rate (metrics, status, doctor).
  const wear = new WearWindow(processWriteBytes, () => store.stats().payloadBytesAppended);
  wear.start();
  w = {
    config,
    logger,
    storeOptions,
    store,
    wear,
    readiness: new Readiness(),
    metrics: createMetrics(store, weirVersion(), wear, config.admin.metrics_max_partition_series),
    statusSections: new Map(),
    statusLine: new StatusLine(store),
    apiRoutes: new Map(),
    // store.close() stops taking appends, lets queued ones commit and flush, then closes LMDB.
    steps: [
      { name: 'store', stop: () => store.close() },
      { name: 'wear window', stop: async () => wear.stop() },
    ],
    onDropForMirror: undefined,
  };
  w.readiness.register({ name: 'store', check: () => store.stats().storageFailure });
  return w;
}

/**
 * Stops reading client sockets and refuses connections near the unit's MemoryHigh= (the
 * listeners call memoryGuard.admit() for each new connection).
 */
function startMemoryGuard(w: Wiring): void {
  memoryGuard.start({
    memoryHighBytes: resolveMemoryHigh(w.config.device.memory_high_bytes, resolveProfile(w.config.device.profile)),
    log: w.logger.child({ component: 'memory' }),
  });
  w.steps.push({ name: 'memory guard', stop: async () => memoryGuard.stop() });
  w.readiness.register({ name: 'memory', check: () => memoryGuard.pressure() });
  registerMemoryGuardMetrics(w.metrics, memoryGuard);
}

/** Starts one component; if it fails, stops those already started (newest first) and rethrows. */
async function startStep<T>(w: Wiring, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    for (const step of [...w.steps].reverse()) await step.stop().catch(() => undefined);
    throw listenError(err, w.config) ?? err; // a port in use names its setting, not a stack trace
  }
}

async function startAdmin(w: Wiring): Promise<AddressInfo> {
  const { config, store, readiness, statusSections } = w;
  const { host, port } = config.admin.listen;
  const version = weirVersion();
  const wearOnPage = { window: w.wear, enduranceTbw: config.device.flash_endurance_tbw };
  // Samples the counters so the page's rates are there from its first request.
  const statusRates = new StatusRates(() => statusSnapshot(store, readiness, version, statusSections, wearOnPage));
  const admin = await startStep(w, async () => {
    if (!isLoopbackHost(host) && !config.admin.allow_unauthenticated_non_loopback) {
      throw new WeirError(
        'CONFIG_INVALID',
        `admin.listen ${host}:${port} is not a loopback address and the admin listener has no authentication: keep it on 127.0.0.1, or set admin.allow_unauthenticated_non_loopback: true behind a firewall`,
        { details: { field: 'admin.listen', host, port } },
      );
    }
    return startAdminServer(
      { host, port },
      {
        registry: w.metrics,
        readiness,
        logger: w.logger,
        status: () => statusRates.snapshot(),
        api: w.apiRoutes,
        health: () => {
          const failure = store.stats().storageFailure;
          return failure === undefined ? undefined : `storage failure: ${failure}`;
        },
      },
    );
  });
  statusRates.start();
  w.steps.push({ name: 'admin', stop: () => admin.close() });
  w.steps.push({ name: 'status rates', stop: async () => statusRates.stop() });
  return admin.address;
}

async function startKafka(w: Wiring, ready: ReadinessFlag): Promise<AddressInfo> {
  const { config, store } = w;
  // Consumer groups: membership in memory, committed offsets in the store.
  const groups = new GroupCoordinator({ store });
  // Transactions (KIP-98): their state in the store's kv. Ends a crash left half done are
  // finished before the listener opens; producer ids come from the idempotent producers' allocator.
  const producers = new ProducerStateManager(store);
  const transactions = new TransactionCoordinator({
    store,
    groups,
    newProducerId: producerIdsFrom(producers),
    logger: w.logger.child({ component: 'transactions' }),
    maxTimeoutMs: config.kafka.transaction_max_timeout_ms,
    idExpirationMs: config.kafka.transactional_id_expiration_ms,
  });
  await startStep(w, () => transactions.start());
  w.steps.push({ name: 'transactions', stop: async () => transactions.close() });
  // Metrics first, so the latency histogram sees the first request too.
  const kafkaStats = new KafkaServerStats();
  let listener: KafkaListener | undefined;
  registerKafkaMetrics(w.metrics, kafkaStats, () => listener);
  const kafka = await startStep(w, () =>
    startKafkaListener({
      host: config.kafka.listen.host,
      port: config.kafka.listen.port,
      advertisedHost: config.kafka.advertised_host,
      advertisedPort: config.kafka.advertised_port,
      allowUnauthenticatedNonLoopback: config.kafka.allow_unauthenticated_non_loopback,
      maxFrameBytes: config.kafka.socket_request_max_bytes,
      maxConnections: config.kafka.max_connections,
      maxInFlightPerConnection: config.kafka.max_in_flight_per_connection,
      maxQueuedRequestBytes: config.kafka.max_queued_request_bytes,
      ...kafkaSecurityFromConfig(config),
      stats: kafkaStats,
      handlers: [
        ...coreHandlers({
          store, autoCreateTopics: config.kafka.auto_create_topics_enable, defaultPartitions: config.topic_defaults.partitions, producers, transactions,
        }),
        ...groupHandlers(groups),
        ...transactionHandlers(transactions, store),
      ],
      logger: w.logger,
    }),
  );
  // Stops accepting, lets in-flight requests be answered (long polls return early), closes.
  // The coordinators first: parked JoinGroup/SyncGroup get a retriable answer instead of holding
  // the close, and no transaction timeout is acted on while the listener closes.
  w.steps.push({
    name: 'kafka',
    stop: () => {
      transactions.close();
      groups.close();
      return kafka.close();
    },
  });
  listener = kafka;
  w.statusSections.set('kafka', () => kafkaStatusSection(kafka));
  w.statusLine.register('kafka', () => `${kafka.connectionCount()} Kafka clients`);
  ready.mark();
  return kafka.address;
}

async function startMqtt(w: Wiring, ready: ReadinessFlag): Promise<HostPort> {
  const mqtt = await startStep(w, () => startMqttBridge(mqttOptionsFromConfig(w.config), w.store, w.logger));
  // Stops accepting, lets appends under way finish and their PUBACKs go out, closes clients.
  w.steps.push({ name: 'mqtt', stop: () => mqtt.close() });
  w.statusSections.set('mqtt', () => mqttStatusSection(mqtt));
  w.statusLine.register('mqtt', () => `${mqtt.stats().connections.open} MQTT clients`);
  registerMqttMetrics(w.metrics, () => mqtt.stats());
  ready.mark();
  return mqtt.address;
}

async function startMirrorStep(w: Wiring): Promise<void> {
  const { config } = w;
  const m = config.mirror;
  const mirror = await startStep(w, () =>
    startMirror(
      { deviceId: config.device.id, upstreams: m.upstreams, rules: m.rules, backoffMinMs: m.backoff_min_ms, backoffMaxMs: m.backoff_max_ms, stopTimeoutMs: m.stop_timeout_ms },
      w.store,
      w.logger,
    ),
  );
  w.onDropForMirror = (event) => mirror.onDrop(event);
  // Stops reading, waits (mirror.stop_timeout_ms) for acknowledgements, saves cursors, disconnects;
  // before the store step, which is older and so stops after it.
  w.steps.push({ name: 'mirror', stop: () => mirror.stop() });
  w.apiRoutes.set('/api/mirror', () => mirror.status());
  w.statusSections.set('mirror', () => mirrorStatusSection(mirror.status()));
  registerMirrorMetrics(w.metrics, () => mirror.status());
  // Informational: an unreachable datacenter must not make the gateway unready (it keeps
  // taking data; that is the point of store-and-forward).
  w.readiness.inform('mirror', () => {
    const down = mirror.status().rules.filter((r) => !r.connected || r.stopped !== null);
    return down.length === 0 ? 'connected' : down.map((r) => `${r.name}: ${r.stopped ?? `upstream not reached since ${new Date(r.since).toISOString()}`}`).join('; ');
  });
}

async function runShutdown(steps: StopStep[], reason: string, timeoutMs: number, log: Logger): Promise<ShutdownResult> {
  const started = Date.now();
  const failed: string[] = [];
  let current = '';
  log.info({ reason }, 'shutting down');

  const sequence = (async () => {
    for (const step of [...steps].reverse()) {
      current = step.name;
      try {
        await step.stop();
        log.debug({ step: step.name }, 'stopped');
      } catch (err) {
        failed.push(step.name);
        log.error({ err, step: step.name }, 'stop step failed; continuing with the next');
      }
    }
    return false;
  })();

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<true>((resolve) => {
    timer = setTimeout(() => resolve(true), timeoutMs);
    timer.unref();
  });
  const timedOut = await Promise.race([sequence, timeout]);
  clearTimeout(timer);
  if (timedOut) log.error({ step: current, timeoutMs }, 'shutdown timed out (shutdown.timeout_ms) while stopping this step');
  return { reason, durationMs: Date.now() - started, timedOut, failed };
}
