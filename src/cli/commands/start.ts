import { constants } from 'node:os';
import { loadConfig, redactedConfig } from '../../config/load.js';
import { createSdNotifier } from '../../../device/sd-notify.js';
import { systemdEnvironment } from '../../config/systemd-env.js';
import { createLogger, type Logger } from '../../logger.js';
import { stringValue, type CliContext, type CommandSpec } from '../spec.js';
import { weirVersion } from '../../version.js';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
/** How often the one-line STATUS= summary that `systemctl status weir` shows is refreshed. */
const STATUS_INTERVAL_MS = 10_000;

type StopSignal = (typeof SIGNALS)[number];

/**
 * Resolves on the first SIGTERM/SIGINT; a second one ends the process at once (exit status
 * 128 + signal number, as a shell reports it). Until the listeners of later issues exist nothing
 * else holds the event loop open, so a timer keeps it alive until dispose(), shutdown included.
 */
function waitForStopSignal(ctx: CliContext, logger: Logger): { signal: Promise<StopSignal>; dispose(): void } {
  let received: StopSignal | undefined;
  let resolveSignal: (s: StopSignal) => void = () => undefined;
  const signal = new Promise<StopSignal>((resolve) => (resolveSignal = resolve));
  const keepAlive = setInterval(() => undefined, 2 ** 31 - 1);
  const handler = (s: StopSignal): void => {
    if (received !== undefined) {
      logger.warn({ signal: s }, 'second signal: exiting without waiting for shutdown');
      ctx.exit(128 + constants.signals[s]);
    }
    received = s;
    resolveSignal(s);
  };
  const handlers = SIGNALS.map((s) => [s, () => handler(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  return {
    signal,
    dispose() {
      clearInterval(keepAlive);
      for (const [s, h] of handlers) process.off(s, h);
    },
  };
}

export const start: CommandSpec = {
  path: ['start'],
  summary: 'Run Weir in the foreground until SIGTERM or SIGINT',
  description: [
    'Loads the config (defaults, then --config FILE, then WEIR_<SECTION>__<FIELD> environment variables), opens the log store and runs until SIGTERM or SIGINT (Ctrl-C). Then it shuts down once: stops accepting, lets in-flight commits reach the disk, closes LMDB, bounded by shutdown.timeout_ms. A second signal exits at once.',
    'Logs are JSON lines on stdout (pretty on a terminal; see log.pretty). Exit status: 0 after a clean shutdown, 1 when the config is invalid, start fails or shutdown times out, 2 for a usage error.',
  ],
  options: [
    {
      name: 'config',
      type: 'string',
      placeholder: 'FILE',
      doc: 'YAML config file; weir.example.yaml lists every field.',
      defaultDoc: 'none (built-in defaults: data in ./data, or $STATE_DIRECTORY under systemd)',
    },
  ],
  examples: ['weir start', 'weir start --config /etc/weir/weir.yaml', 'WEIR_STORE__DIR=/srv/weir WEIR_LOG__LEVEL=debug weir start'],
  async run(values, ctx) {
    const configFile = stringValue(values, 'config');
    const config = loadConfig({ file: configFile, env: ctx.env, cwd: ctx.cwd });
    const logger = createLogger(config.log);
    const stop = waitForStopSignal(ctx, logger);
    try {
      logger.info({ version: weirVersion(), configFile: configFile ?? null, config: redactedConfig(config) }, 'starting');
      const began = Date.now();
      // Imported here so that `weir --help` does not load the native LMDB module.
      const { startWeir } = await import('../../main.js');
      const weir = await startWeir(config, logger);
      // Optional native code that has a pure-JS fallback (e.g. no glibc build of msgpackr-extract on ARM).
      const { isNativeAccelerationEnabled } = await import('msgpackr'); // lmdb's msgpack: the small metadata rows
      const { nativeCrc32c } = await import('../../kafka/protocol/crc32c.js');
      const without = [...(nativeCrc32c ? [] : ['@node-rs/crc32 (batch CRC-32C)']), ...(isNativeAccelerationEnabled ? [] : ['msgpackr-extract (metadata rows)'])];
      if (without.length > 0) logger.info({ without }, `running without native acceleration: ${without.join(', ')}; the JavaScript fallbacks are used`);
      const at = (a: { address?: string; host?: string; port: number } | undefined) => (a === undefined ? null : `${a.address ?? a.host}:${a.port}`);
      logger.info(
        {
          dataDir: weir.storeOptions.dir,
          diskBudgetBytes: weir.storeOptions.diskBudgetBytes,
          topics: weir.store.listTopics().length,
          admin: at(weir.adminAddress),
          kafka: at(weir.kafkaAddress),
          mqtt: at(weir.mqttAddress),
          startupMs: Date.now() - began,
        },
        'ready',
      );
      // systemd (Type=notify): READY=1 only now, with the store open and every listener bound.
      const { notifySocket, watchdogUsec } = systemdEnvironment(ctx.env);
      const notifier = createSdNotifier({ socket: notifySocket, watchdogUsec }, logger);
      notifier.ready(weir.statusLine.render());
      const statusTimer = setInterval(() => notifier.status(weir.statusLine.render()), STATUS_INTERVAL_MS);
      statusTimer.unref();
      const signal = await stop.signal;
      clearInterval(statusTimer);
      notifier.stopping();
      const result = await weir.shutdown(signal);
      notifier.close();
      const clean = !result.timedOut && result.failed.length === 0;
      logger[clean ? 'info' : 'error']({ ...result }, clean ? 'stopped' : 'stopped uncleanly');
      return clean ? 0 : 1;
    } finally {
      stop.dispose();
    }
  },
};
