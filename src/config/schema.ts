/**
 * The one table of Weir's configuration. Everything about a field lives here: its type and
 * constraints, its default, its doc line and the fix hint shown when it is wrong. The loader
 * validates against it, `WeirConfig` is derived from it, and the README's configuration
 * reference and weir.example.yaml are generated from it (test/config/docs.test.ts fails when
 * they drift).
 *
 * Why YAML: operators need comments in the file they edit on a gateway, sections nest without
 * ceremony, it is what they already know from Compose, Kubernetes and Home Assistant, and the
 * `yaml` package is pure JavaScript (nothing to compile on a Pi) and reports line and column
 * for every error.
 *
 * Adding a field: add one entry to its section (a new section is a new key of SCHEMA; the mqtt,
 * kafka and mirror sections live next to their code in bridge/mqtt/config-fields.ts,
 * src/kafka/server/config-fields.ts and bridge/mirror/config-fields.ts), then run `UPDATE_DOCS=1 npx vitest run test/config/docs.test.ts` to regenerate the docs.
 * Fields are `<section>.<key>`; keys may contain dots (the Kafka topic config names do).
 */
export type { FieldSpec, RawDefault } from './field.js';
import { PROFILE_NAMES } from '../../device/profiles.js';
import { TOPIC_CONFIG_NAMES, TOPIC_CONFIG_SPECS, validateTopicConfig, type TopicConfig, type TopicConfigName } from '../store/topic-config.js';
import { DEVICE_ID_FIELD, MIRROR_CROSS_CHECKS, MIRROR_FIELDS } from '../../bridge/mirror/config-fields.js';
import { field, GiB, MiB, type CrossCheck, type FieldSpec, type RawDefault } from './field.js';
import { MQTT_FIELDS } from '../../bridge/mqtt/config-fields.js';
import { KAFKA_FIELDS } from '../kafka/server/config-fields.js';
import { bool, bytesSize, decimal, dirPath, durationMs, enumOf, hostPort, int, orAuto, topicConfig } from './types.js';

/** systemd sets STATE_DIRECTORY for StateDirectory= (colon-separated when there are several). */
function stateDirectoryOrLocal(env: NodeJS.ProcessEnv): string {
  const first = env.STATE_DIRECTORY?.split(':')[0];
  return first !== undefined && first !== '' ? first : './data';
}


function topicDefaultFields(): { [K in TopicConfigName]: FieldSpec<TopicConfig[K]> } {
  const out: Partial<Record<TopicConfigName, FieldSpec<unknown>>> = {};
  for (const name of TOPIC_CONFIG_NAMES) {
    const spec = TOPIC_CONFIG_SPECS[name];
    out[name] = field({
      type: topicConfig(name),
      default: spec.kafkaDefault,
      doc: `${spec.doc} Broker default; a topic's own \`--config ${name}=…\` overrides it.`,
      fix: `Set a valid ${name} value, or remove it to use the default ${spec.kafkaDefault}.`,
    });
  }
  return out as { [K in TopicConfigName]: FieldSpec<TopicConfig[K]> };
}

/** The store's own check across topic configs, on the broker defaults (as on a topic's effective config). */
const TOPIC_DEFAULTS_CROSS_CHECK: CrossCheck = {
  field: 'topic_defaults.min.compaction.lag.ms',
  check: (config) => {
    try {
      validateTopicConfig(config.topic_defaults as unknown as TopicConfig);
      return [];
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return [{ why, fix: 'Set topic_defaults.min.compaction.lag.ms at most topic_defaults.max.compaction.lag.ms.' }];
    }
  },
};

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const SCHEMA = {
  store: {
    dir: field({
      type: dirPath(),
      default: stateDirectoryOrLocal,
      defaultDoc: '`$STATE_DIRECTORY` (set by systemd `StateDirectory=`), else `./data`',
      doc: 'Directory holding the LMDB log; created if missing. One Weir process per directory.',
      fix: 'Set a directory Weir may write to, e.g. /var/lib/weir, or remove it to use the default.',
    }),
    disk_budget_bytes: field({
      type: orAuto(bytesSize(MiB)),
      default: 'auto',
      doc: 'Cap on log bytes across all topics; at the cap each topic\'s `weir.overflow.policy` applies. `auto` = 75% of (free space on the filesystem of `store.dir` + bytes already in it), computed at start.',
      fix: 'Set auto, or a size that fits on the disk, e.g. 2GiB.',
    }),
    write_queue_max_records: field({
      type: orAuto(int(1, 10_000_000)),
      default: 'auto',
      doc: 'Cap on records waiting for the next group commit. A full queue makes appends wait up to `store.block_timeout_ms`, then fail with a retriable error. `auto` = from `device.profile`: 20000 on a 512 MB board, else 100000.',
      fix: 'Set auto, or a whole number of records, e.g. 100000.',
    }),
    write_queue_max_bytes: field({
      type: orAuto(bytesSize(64 * 1024, GiB)),
      default: 'auto',
      doc: 'Cap on bytes waiting for the next group commit; same behaviour as the record cap when full. Bounds memory on small boards. `auto` = from `device.profile`: 8MiB on a 512 MB board, else 64MiB.',
      fix: 'Set auto, or a size such as 64MiB (8MiB on a 512 MB board).',
    }),
    block_timeout_ms: field({
      type: durationMs(0, 300_000),
      default: 5000,
      doc: 'How long an append waits for write-queue room, or for disk budget under overflow policy `block`, before failing with a retriable error.',
      fix: 'Set a duration such as 5000 or 5s, at most 5m, or remove it to use the default.',
    }),
    retention_check_interval_ms: field({
      type: durationMs(0, 86_400_000),
      default: 60_000,
      doc: 'How often retention (time, size and disk budget) runs. 0 turns the timer off, for tests only.',
      fix: 'Set a duration such as 60000 or 1m, at most 1d, or remove it to use the default.',
    }),
    compaction_buffer_bytes: field({
      type: orAuto(bytesSize(64 * 1024, GiB)),
      default: 'auto',
      doc: 'The log cleaner\'s dedupe buffer for compacted topics (Kafka\'s `log.cleaner.dedupe.buffer.size`): 24 bytes per key, allocated at the first compaction and kept. A partition with more keys to compact than fit is compacted in several passes, so this bounds the memory, never the number of keys. `auto` = from `device.profile`: 4MiB on a 512 MB board, else 16MiB.',
      fix: 'Set auto, or a size such as 16MiB (4MiB on a 512 MB board).',
    }),
    compaction_check_interval_ms: field({
      type: durationMs(0, 86_400_000),
      default: 15_000,
      doc: 'How often the log cleaner looks for partitions of compacted topics to compact (Kafka\'s `log.cleaner.backoff.ms`). 0 turns the timer off, for tests only.',
      fix: 'Set a duration such as 15000 or 15s, at most 1d, or remove it to use the default.',
    }),
    max_topics: field({
      type: int(1, 1_000_000),
      default: 1000,
      doc: 'Cap on topics. Each topic and partition is held in memory (about 0.6 KiB of heap for a one-partition topic, 0.25 KiB per further partition), so past the cap creating a topic (CreateTopics, Metadata and MQTT auto-create, `weir topics create`) is refused with TOPIC_LIMIT_REACHED (Kafka POLICY_VIOLATION). A data dir already over it still opens, with a warning, and refuses more.',
      fix: 'Set a whole number of topics, e.g. 1000, or remove it to use the default.',
    }),
    max_partitions: field({
      type: int(1, 1_000_000),
      default: 2000,
      doc: 'Cap on partitions across all topics, with the same refusal as `store.max_topics` (also for CreatePartitions and `weir topics alter --partitions`). 2000 partitions hold about 4 MiB of heap, out of the 128 MiB the service gives Node.',
      fix: 'Set a whole number of partitions, e.g. 2000, or remove it to use the default.',
    }),
    overlapping_sync: field({
      type: bool(),
      default: false,
      doc: 'lmdb-js `overlappingSync`: flush after the commit, outside the write lock, so the next group commit builds during the flush. Appends are acknowledged only once flushed either way. Off by default: it writes the meta page twice per commit (one more 4 KiB page to flash, +15 % at 100 msg/s), and its throughput gain did not stand out of the noise in `bench:kafka`.',
      fix: 'Set true or false, or remove it to use the default.',
    }),
  },
  topic_defaults: {
    partitions: field({
      type: int(1, 10_000),
      default: 1,
      doc: 'Partitions of a topic created without an explicit count (Kafka\'s `num.partitions`).',
      fix: 'Set a whole number from 1 to 10000, or remove it to use the default.',
    }),
    ...topicDefaultFields(),
  },
  admin: {
    listen: field({
      type: hostPort(),
      default: '127.0.0.1:9644',
      doc: 'Admin HTTP listener: the status page at /, /metrics (Prometheus), /healthz and /readyz. It has no authentication: keep it on loopback, or put a proxy with authentication in front.',
      fix: 'Set host:port, e.g. 127.0.0.1:9644 (port 0 picks a free one).',
    }),
    enabled: field({
      type: bool(),
      default: true,
      doc: 'Serve the admin HTTP listener at all.',
      fix: 'Set true or false.',
    }),
    metrics_max_partition_series: field({
      type: int(0, 1_000_000),
      default: 500,
      doc: 'How many partitions get `weir_partition_*` series of their own on /metrics (topics in name order); the figures of the rest are summed into one series labelled `topic="*", partition="*"`, and `weir_partition_series_omitted` counts them. The same cap applies to `weir_consumer_group_lag` entries and the `weir_log_compaction_*` series. Each series is about 80 bytes of every scrape.',
      fix: 'Set a whole number of partitions, e.g. 500, or remove it to use the default.',
    }),
    allow_unauthenticated_non_loopback: field({
      type: bool(),
      default: false,
      doc: 'The admin listener has no authentication, so Weir refuses to bind it to a non-loopback address unless this is true.',
      fix: 'Set true only if a firewall or proxy protects the port; otherwise keep admin.listen on 127.0.0.1.',
    }),
  },
  mqtt: MQTT_FIELDS,
  kafka: KAFKA_FIELDS,
  device: {
    id: DEVICE_ID_FIELD,
    profile: field({
      type: enumOf(['auto', ...PROFILE_NAMES] as const),
      default: 'auto',
      doc: 'Board profile for memory-bound defaults (the `auto` write-queue caps): pi-zero-2w, pi-4, pi-5, generic (≥ 1 GB) or small (< 1 GB). `auto` detects the board from /proc/device-tree/model, else from the memory size.',
      fix: `Set auto or one of ${PROFILE_NAMES.join(', ')}.`,
    }),
    memory_high_bytes: field({
      type: orAuto(bytesSize(16 * MiB, 1024 * GiB)),
      default: 'auto',
      doc: "The unit's `MemoryHigh=`, which the memory guard steers by: once Weir's anonymous memory (`RssAnon`) passes 90% of it, Weir stops reading client sockets and refuses new MQTT and Kafka connections (`/readyz` 503, a log line), until it is back under 80%. `auto` = `memory.high` of Weir's own cgroup (cgroup v2) when set, else the board profile's figure: 192MiB, 120MiB on a 512 MB board.",
      fix: "Set auto, or the unit's MemoryHigh= as a size, e.g. 192MiB.",
    }),
    flash_endurance_tbw: field({
      type: decimal(0.01, 100_000),
      default: 2,
      doc: "Write endurance of the device holding `store.dir`, in terabytes written (TBW, 10^12 bytes). The status page projects the years Weir's writes take to use it up, and `weir doctor` warns when that is under five years. Default 2, for a normal 32 GB microSD card: makers publish no endurance for those, 32 GB of consumer TLC flash at a few hundred erase cycles is about 10 TB of flash writes, and the card's controller multiplies small synced writes several times. High-endurance cards are rated in hours of video, about 30 TB for 32 GB (SanDisk High Endurance: 10,000 h of 26 Mbit/s for 128 GB, 117 TB); industrial cards and SSDs print TBW on the datasheet. Set your card's figure.",
      fix: "Set the device's rating in terabytes written, e.g. 2 or 0.5, or remove it to use the default 2.",
    }),
  },
  // The mirror's fields live with the mirror (this file stays readable in one sitting).
  mirror: MIRROR_FIELDS,
  log: {
    level: field({
      type: enumOf(LOG_LEVELS),
      default: 'info',
      doc: 'Lowest pino level written.',
      fix: `Set one of ${LOG_LEVELS.join(', ')}.`,
    }),
    pretty: field({
      type: orAuto(bool()),
      default: 'auto',
      doc: 'Human-readable log lines instead of JSON. `auto` = pretty only when the log stream is a terminal.',
      fix: 'Set auto, true or false.',
    }),
  },
  shutdown: {
    timeout_ms: field({
      type: durationMs(100, 600_000),
      default: 10_000,
      doc: 'Longest a graceful shutdown (stop accepting, finish in-flight commits, close LMDB) may take before Weir gives up and exits with status 1.',
      fix: 'Set a duration such as 10000 or 10s (at most 10m), or remove it to use the default.',
    }),
  },
} as const satisfies Record<string, Record<string, FieldSpec<unknown>>>;

type Schema = typeof SCHEMA;
type ValueOf<F> = F extends FieldSpec<infer T> ? T : never;
type DeepReadonly<T> = T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** The validated, frozen configuration: one property per section, one per field. */
export type WeirConfig = {
  readonly [S in keyof Schema]: { readonly [K in keyof Schema[S]]: DeepReadonly<ValueOf<Schema[S][K]>> };
};

export type SectionName = keyof Schema;

export interface FieldEntry {
  section: string;
  key: string;
  /** `<section>.<key>`, e.g. `topic_defaults.retention.ms`. */
  path: string;
  /** `WEIR_<SECTION>__<KEY>` with the key's dots and dashes as underscores, upper-cased. */
  env: string;
  spec: FieldSpec<unknown>;
}

export function envNameFor(section: string, key: string): string {
  return `WEIR_${section.replace(/[.-]/g, '_').toUpperCase()}__${key.replace(/[.-]/g, '_').toUpperCase()}`;
}

/** Every field, in table order. */
export const FIELDS: readonly FieldEntry[] = Object.freeze(
  Object.entries(SCHEMA as Record<string, Record<string, FieldSpec<unknown>>>).flatMap(([section, fields]) =>
    Object.entries(fields).map(([key, spec]) =>
      Object.freeze({ section, key, path: `${section}.${key}`, env: envNameFor(section, key), spec }),
    ),
  ),
);

export const SECTIONS: readonly string[] = Object.freeze(Object.keys(SCHEMA));

/** Checks across fields, run once every field has parsed (the sections' own, listed here). */
export const CROSS_CHECKS: readonly CrossCheck[] = [TOPIC_DEFAULTS_CROSS_CHECK, ...MIRROR_CROSS_CHECKS];

export function rawDefault(entry: FieldEntry, env: NodeJS.ProcessEnv): RawDefault {
  const d = entry.spec.default;
  return typeof d === 'function' ? d(env) : d;
}

/** The default as the docs show it. */
export function defaultDoc(entry: FieldEntry): string {
  if (entry.spec.defaultDoc !== undefined) return entry.spec.defaultDoc;
  return `\`${String(rawDefault(entry, {}))}\``;
}
