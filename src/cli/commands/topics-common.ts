/**
 * What every `weir topics` command shares: finding the store (--data-dir, or store.dir from
 * --config / --config-file / WEIR_STORE__DIR / the default), opening it for the length of one command, and
 * closing it. The store takes a single-writer lock, so these commands refuse to run beside a
 * running Weir on the same directory (STORE_LOCKED) rather than write behind its back.
 *
 * With --bootstrap-server they go through a running Weir's Kafka listener instead
 * (topics-remote.ts). Flag names follow kafka-topics.sh. Kafka's `--config` means a topic config (KEY=VALUE), so
 * `topics create` and `topics alter` take Weir's own config file only as `--config-file`; the other
 * topics commands take `--config FILE` too, like every other command (spec.ts effectiveOptions).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { WeirError } from '../../errors.js';
import { loadConfig } from '../../config/load.js';
import { storeOptionsFromConfig } from '../../config/store-options.js';
import type { WeirConfig } from '../../config/schema.js';
import { createLogger } from '../../logger.js';
import type { LogStore, StoreOptions } from '../../store/types.js';
import { BOOTSTRAP_OPTION, COMMAND_CONFIG_OPTION } from '../kafka-client.js';
import { stringValue, type CliContext, type OptionSpec, type OptionValues } from '../spec.js';

export const TOPIC_OPTION: OptionSpec = {
  name: 'topic',
  type: 'string',
  placeholder: 'NAME',
  doc: '1–249 ASCII letters, digits, ".", "_" and "-" (Kafka\'s rules).',
  required: true,
};

// With `--bootstrap-server HOST:PORT` the commands go through the running broker's admin APIs
// (topics-remote.ts) instead of opening the data dir, which the running broker holds locked.
export const STORE_OPTIONS: readonly OptionSpec[] = [
  {
    ...BOOTSTRAP_OPTION,
    required: false,
    doc: 'Work through the Kafka listener of a running Weir (kafka.listen, e.g. 127.0.0.1:9092) instead of opening the data directory.',
  },
  COMMAND_CONFIG_OPTION,
  {
    name: 'data-dir',
    type: 'string',
    placeholder: 'DIR',
    doc: 'Data directory of the store to work on (without --bootstrap-server). Weir must not be running on it.',
    defaultDoc: 'store.dir from the config file or WEIR_STORE__DIR, else ./data',
  },
  {
    name: 'config-file',
    type: 'string',
    placeholder: 'FILE',
    doc: 'Weir\'s YAML config file (the one `weir start --config` uses), for store.dir and topic_defaults.',
  },
];

/** Whether the command goes through a running broker (--bootstrap-server) rather than the data dir. */
export function isRemote(values: OptionValues): boolean {
  return stringValue(values, 'bootstrap-server') !== undefined;
}

export interface StoreSession {
  store: LogStore;
  options: StoreOptions;
  config: WeirConfig;
}

/**
 * Opens the store, runs `fn`, closes the store. `create: false` refuses a data dir that does
 * not exist yet, so a mistyped --data-dir is reported instead of silently creating an empty log.
 */
export async function withStore<T>(values: OptionValues, ctx: CliContext, create: boolean, fn: (session: StoreSession) => Promise<T>): Promise<T> {
  const config = loadConfig({ file: stringValue(values, 'config-file'), env: ctx.env, cwd: ctx.cwd });
  const dataDir = stringValue(values, 'data-dir');
  const options = storeOptionsFromConfig(config, dataDir === undefined ? {} : { dir: path.resolve(ctx.cwd, dataDir) });
  if (!create && !existsSync(options.dir)) {
    throw new WeirError('USAGE', `there is no Weir data directory at ${options.dir}`, {
      details: { dir: options.dir, hint: 'Pass the directory Weir stores its log in (store.dir) with --data-dir, or create a topic there first.' },
    });
  }
  // Command output goes to stdout; the store's own log lines go to stderr, and at the default
  // log.level (info) only warnings and up, so a one-shot command stays quiet unless asked.
  const level = config.log.level === 'info' ? 'warn' : config.log.level;
  const logger = createLogger({ level, pretty: config.log.pretty, destination: 2 });
  // Imported here so that `weir --help` and friends do not load the native LMDB module.
  const { openStore } = await import('../../store/index.js');
  const store = await openStore(options, logger);
  let result: T;
  try {
    result = await fn({ store, options, config });
  } catch (err) {
    // The command's error is the one worth reporting; a close failure after it would only hide it.
    await store.close().catch(() => undefined);
    throw err;
  }
  await store.close();
  return result;
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let n = bytes;
  let unit = 'B';
  for (const u of units) {
    if (n < 1024) break;
    n /= 1024;
    unit = u;
  }
  return `${n.toFixed(1)} ${unit}`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
