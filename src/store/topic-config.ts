/**
 * Per-topic configs, with Kafka's names. Values are the effective config of a topic: the broker
 * defaults (from Weir's config file, `topic_defaults`) overlaid with the topic's own overrides.
 *
 * Defaults follow Kafka where Kafka has one, except `segment.bytes`: Kafka's 1 GiB segment is the
 * unit of deletion, which is far too coarse for a disk budget of a few GB on an SD card, so Weir
 * defaults to 16 MiB (a broker-wide default the operator may change, as Kafka's
 * `log.segment.bytes` is).
 */
import { WeirError } from '../errors.js';

/** Kafka's list of policies, held normalised: "delete,compact" and "compact, delete" read as 'compact,delete'. */
export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';
export type OverflowPolicy = 'block' | 'drop-oldest' | 'reject-new';
export type TopicCompression = 'producer' | 'uncompressed' | 'gzip' | 'snappy' | 'lz4';

export interface TopicConfig {
  'retention.ms': number;
  'retention.bytes': number;
  'segment.bytes': number;
  'segment.ms': number;
  'max.message.bytes': number;
  'cleanup.policy': CleanupPolicy;
  'min.cleanable.dirty.ratio': number;
  'min.compaction.lag.ms': number;
  /** Kafka's default Long.MAX_VALUE is held as Number.MAX_SAFE_INTEGER (2^53-1 ms: 285,000 years, i.e. never). */
  'max.compaction.lag.ms': number;
  'delete.retention.ms': number;
  'compression.type': TopicCompression;
  'weir.overflow.policy': OverflowPolicy;
  'flush.ms': number;
  'flush.messages': number;
}

export type TopicConfigName = keyof TopicConfig;

/** Kafka's ConfigDef type of a topic config, which DescribeConfigs v3+ tells clients. */
export type KafkaConfigType = 'INT' | 'LONG' | 'DOUBLE' | 'STRING' | 'LIST';

interface ConfigSpec {
  kafkaDefault: string;
  kafkaType: KafkaConfigType;
  doc: string;
  parse(value: string): TopicConfig[TopicConfigName];
}

const MAX_INT = 2 ** 31 - 1;

function integer(name: string, min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new WeirError('INVALID_CONFIG', `${name}=${value} is invalid: expected an integer from ${min} to ${max}`, {
        details: { name, value },
      });
    }
    return n;
  };
}

/**
 * A Kafka LONG whose range reaches Long.MAX_VALUE (2^63-1), past a JS number's exact range:
 * held as the largest exact one, Number.MAX_SAFE_INTEGER, which no duration or count reaches.
 */
function long(name: string, min: number) {
  const parse = integer(name, min, 2 ** 63);
  return (value: string): number => Math.min(parse(value), Number.MAX_SAFE_INTEGER);
}

function ratio(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
      throw new WeirError('INVALID_CONFIG', `${name}=${value} is invalid: expected a number from 0 to 1`, { details: { name, value } });
    }
    return n;
  };
}

/**
 * Kafka reads cleanup.policy as a comma-separated LIST of `compact` and `delete` (spaces around
 * the commas allowed, order free), so every spelling of both is held as 'compact,delete'.
 */
function cleanupPolicy(value: string): CleanupPolicy {
  const items = value.trim() === '' ? [] : value.trim().split(/\s*,\s*/);
  const bad = items.length === 0 || items.some((item) => item !== 'compact' && item !== 'delete');
  if (bad) {
    throw new WeirError('INVALID_CONFIG', `cleanup.policy=${value} is invalid: expected delete, compact, or both as compact,delete`, {
      details: { name: 'cleanup.policy', value },
    });
  }
  const compact = items.includes('compact');
  const del = items.includes('delete');
  return compact && del ? 'compact,delete' : compact ? 'compact' : 'delete';
}

/** Whether the log cleaner keeps only the latest record per key on this topic. */
export function compacts(config: Pick<TopicConfig, 'cleanup.policy'>): boolean {
  return config['cleanup.policy'] !== 'delete';
}

/** Whether retention.ms / retention.bytes delete old segments of this topic. */
export function deletes(config: Pick<TopicConfig, 'cleanup.policy'>): boolean {
  return config['cleanup.policy'] !== 'compact';
}

function oneOf<T extends string>(name: string, allowed: readonly T[]) {
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value)) {
      throw new WeirError('INVALID_CONFIG', `${name}=${value} is invalid: expected one of ${allowed.join(', ')}`, {
        details: { name, value },
      });
    }
    return value as T;
  };
}

export const TOPIC_CONFIG_SPECS: Readonly<Record<TopicConfigName, ConfigSpec>> = {
  'retention.ms': {
    kafkaDefault: '604800000',
    kafkaType: 'LONG',
    doc: 'Delete whole segments whose newest record is older than this (ms); -1 keeps them forever.',
    parse: integer('retention.ms', -1),
  },
  'retention.bytes': {
    kafkaDefault: '-1',
    kafkaType: 'LONG',
    doc: 'Delete the oldest segments while a partition is larger than this (bytes); -1 means no limit.',
    parse: integer('retention.bytes', -1),
  },
  'segment.bytes': {
    kafkaDefault: '16777216',
    kafkaType: 'INT',
    doc: 'Roll a new segment when the active one reaches this size (bytes). Weir default 16 MiB (Kafka: 1 GiB).',
    parse: integer('segment.bytes', 14, MAX_INT),
  },
  'segment.ms': {
    kafkaDefault: '604800000',
    kafkaType: 'LONG',
    doc: 'Roll a new segment when the active one is older than this (ms).',
    parse: integer('segment.ms', 1),
  },
  'max.message.bytes': {
    kafkaDefault: '1048588',
    kafkaType: 'INT',
    doc: 'Largest record batch accepted (bytes), as in Kafka.',
    parse: integer('max.message.bytes', 0, MAX_INT),
  },
  'cleanup.policy': {
    kafkaDefault: 'delete',
    kafkaType: 'LIST',
    doc: 'delete: retention.ms / retention.bytes remove old segments. compact: keep the latest record per key (see "Compacted topics"); retention.ms / retention.bytes then delete nothing. compact,delete: both.',
    parse: cleanupPolicy,
  },
  'min.cleanable.dirty.ratio': {
    kafkaDefault: '0.5',
    kafkaType: 'DOUBLE',
    doc: 'Compact a partition once this share of its closed segments\' bytes has not been compacted yet (0 to 1).',
    parse: ratio('min.cleanable.dirty.ratio'),
  },
  'min.compaction.lag.ms': {
    kafkaDefault: '0',
    kafkaType: 'LONG',
    doc: 'A record stays uncompacted for at least this long after it is written (ms).',
    parse: long('min.compaction.lag.ms', 0),
  },
  'max.compaction.lag.ms': {
    kafkaDefault: '9223372036854775807',
    kafkaType: 'LONG',
    doc: 'A record is compacted at most this long after it is written, whatever the dirty ratio (ms); at least min.compaction.lag.ms. Default: no limit (Kafka: Long.MAX_VALUE, held as 2^53-1).',
    parse: long('max.compaction.lag.ms', 1),
  },
  'delete.retention.ms': {
    kafkaDefault: '86400000',
    kafkaType: 'LONG',
    doc: 'How long a tombstone (a record with a null value) is kept after its partition is compacted (ms), so consumers reading from behind see the deletion.',
    parse: long('delete.retention.ms', 0),
  },
  'compression.type': {
    kafkaDefault: 'producer',
    kafkaType: 'STRING',
    doc: 'Codec of batches Weir builds itself (MQTT ingest); producer keeps what Kafka clients send.',
    parse: oneOf<TopicCompression>('compression.type', ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4']),
  },
  'flush.ms': {
    // Kafka's default (Long.MAX_VALUE) leaves flushing to the OS; Weir acknowledges only what is
    // flushed, so its default is "as soon as the writer is free" and a window is opted into.
    kafkaDefault: '0',
    kafkaType: 'LONG',
    doc: 'Longest a record waits for the group commit that flushes it to disk (ms). Acks (MQTT PUBACK, Kafka produce) wait for that flush, so a larger window means fewer commits, far fewer bytes written to flash, and later acks. Weir default 0: commit as soon as the writer is free (Kafka: leave it to the OS).',
    parse: integer('flush.ms', 0, 3_600_000),
  },
  'flush.messages': {
    kafkaDefault: '9223372036854775807',
    kafkaType: 'LONG',
    doc: 'Commit early once this many records wait for the flush window (`flush.ms`), counting records of every topic waiting; 64 KiB waiting commits early too. Default: never by count (Kafka: Long.MAX_VALUE, held as 2^53-1).',
    parse: long('flush.messages', 1),
  },
  'weir.overflow.policy': {
    kafkaDefault: 'block',
    kafkaType: 'STRING',
    doc: 'When the disk budget is full: block (appends wait, then fail retriably), drop-oldest, or reject-new.',
    parse: oneOf<OverflowPolicy>('weir.overflow.policy', ['block', 'drop-oldest', 'reject-new']),
  },
};

export const TOPIC_CONFIG_NAMES = Object.keys(TOPIC_CONFIG_SPECS) as TopicConfigName[];

export function isTopicConfigName(name: string): name is TopicConfigName {
  return Object.hasOwn(TOPIC_CONFIG_SPECS, name);
}

/** Kafka's defaults as typed values. */
export function kafkaTopicDefaults(): TopicConfig {
  const out: Record<string, unknown> = {};
  for (const name of TOPIC_CONFIG_NAMES) out[name] = TOPIC_CONFIG_SPECS[name].parse(TOPIC_CONFIG_SPECS[name].kafkaDefault);
  return out as unknown as TopicConfig;
}

/**
 * Checks across configs, on a topic's effective config (its overrides over the broker defaults):
 * Kafka's LogConfig.validateValues refuses a minimum compaction lag above the maximum.
 */
export function validateTopicConfig(config: Pick<TopicConfig, 'min.compaction.lag.ms' | 'max.compaction.lag.ms'>): void {
  const min = config['min.compaction.lag.ms'];
  const max = config['max.compaction.lag.ms'];
  if (min > max) {
    throw new WeirError('INVALID_CONFIG', `conflict topic config setting min.compaction.lag.ms (${min}) > max.compaction.lag.ms (${max})`, {
      details: { 'min.compaction.lag.ms': min, 'max.compaction.lag.ms': max },
    });
  }
}

/**
 * Parses `name=value` strings (as given to `--config`) into typed overrides. Every problem is
 * collected, so a user fixes them all in one go.
 */
export function parseTopicConfigs(entries: Record<string, string>): Partial<TopicConfig> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, value] of Object.entries(entries)) {
    if (!isTopicConfigName(name)) {
      problems.push(`unknown topic config '${name}' (known: ${TOPIC_CONFIG_NAMES.join(', ')})`);
      continue;
    }
    try {
      out[name] = TOPIC_CONFIG_SPECS[name].parse(String(value));
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (problems.length > 0) {
    throw new WeirError('INVALID_CONFIG', problems.join('; '), { details: { problems } });
  }
  return out as Partial<TopicConfig>;
}

// Kafka's rule (org.apache.kafka.common.internals.Topic): 1..249 chars of [a-zA-Z0-9._-],
// not "." or "..".
const LEGAL_TOPIC = /^[a-zA-Z0-9._-]+$/;
export const MAX_TOPIC_NAME_LENGTH = 249;

export function validateTopicName(name: string): void {
  let why: string | undefined;
  if (name.length === 0) why = 'it is empty';
  else if (name === '.' || name === '..') why = `'${name}' is reserved`;
  else if (name.length > MAX_TOPIC_NAME_LENGTH) why = `it is ${name.length} characters long (at most ${MAX_TOPIC_NAME_LENGTH})`;
  else if (!LEGAL_TOPIC.test(name)) why = 'it may contain only ASCII letters, digits, ".", "_" and "-"';
  if (why !== undefined) {
    throw new WeirError('INVALID_TOPIC_NAME', `invalid topic name '${name}': ${why}`, { details: { topic: name } });
  }
}
