/**
 * The one place that wires Weir together and the one path that takes it apart again.
 *
 * Start order is bottom-up (the store first, since everything else writes to it); shutdown is
 * the reverse: stop accepting new work, let in-flight commits finish, then close LMDB. Later
 * issues add their components to `startWeir` with a stop step each; nothing else in Weir stops
 * the process.
 */
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { createMetrics } from './admin/metrics.js';
import { Readiness } from './admin/readiness.js';
import { startAdminServer } from './admin/server.js';
import { statusSnapshot, type StatusSection } from './admin/status.js';
import { weirVersion } from './cli/version.js';
import type { WeirConfig } from './config/schema.js';
import { WeirError } from './errors.js';
import { isLoopbackHost } from './loopback.js';
import { storeOptionsFromConfig } from './config/store-options.js';
import type { Logger } from './logger.js';
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
  /** Where the admin HTTP listener is bound, when enabled. */
  readonly adminAddress: AddressInfo | undefined;
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

export async function startWeir(config: WeirConfig, logger: Logger): Promise<RunningWeir> {
  const log = logger.child({ component: 'main' });
  const steps: StopStep[] = [];

  const storeOptions = storeOptionsFromConfig(config);
  if (config.store.disk_budget_bytes === 'auto') {
    log.info({ dir: storeOptions.dir, diskBudgetBytes: storeOptions.diskBudgetBytes }, 'disk budget auto: 75% of free space plus the data already stored');
  }
  // The store makes its own child logger ({ component: 'store' }).
  const store = await openStore(storeOptions, logger);
  const readiness = new Readiness();
  const metrics = createMetrics(store, weirVersion());
  /** Sections other components add to the status page (MQTT clients, mirror state). */
  const statusSections = new Map<string, StatusSection>();
  let adminAddress: AddressInfo | undefined;
  // store.close() stops taking appends, lets queued ones commit and flush, then closes LMDB.
  steps.push({ name: 'store', stop: () => store.close() });

  readiness.register({ name: 'store', check: () => store.stats().storageFailure });
  if (config.admin.enabled) {
    const { host, port } = config.admin.listen;
    if (!isLoopbackHost(host) && !config.admin.allow_unauthenticated_non_loopback) {
      await store.close();
      throw new WeirError(
        'CONFIG_INVALID',
        `admin.listen ${host}:${port} is not a loopback address and the admin listener has no authentication: keep it on 127.0.0.1, or set admin.allow_unauthenticated_non_loopback: true behind a firewall`,
        { details: { field: 'admin.listen', host, port } },
      );
    }
    const version = weirVersion();
    const admin = await startAdminServer(
      { host, port },
      { registry: metrics, readiness, logger, status: () => statusSnapshot(store, readiness, version, statusSections) },
    ).catch(async (err: unknown) => {
      await store.close();
      throw err;
    });
    steps.push({ name: 'admin', stop: () => admin.close() });
    adminAddress = admin.address;
  }

  // Later issues, in this order, each pushing its stop step (stop accepting first):
  //   admin HTTP (127.0.0.1:9644), Kafka listener (127.0.0.1:9092), MQTT (127.0.0.1:1883), mirror.
  // A component that fails to start must stop those already started before rethrowing.

  let stopping: Promise<ShutdownResult> | undefined;
  return {
    config,
    storeOptions,
    store,
    readiness,
    metrics,
    statusSections,
    adminAddress,
    shutdown(reason: string): Promise<ShutdownResult> {
      stopping ??= runShutdown(steps, reason, config.shutdown.timeout_ms, log);
      return stopping;
    },
  };
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
