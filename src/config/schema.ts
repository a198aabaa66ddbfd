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
 * Adding a field: add one entry to its section below (a new section is a new key of SCHEMA),
 * then run `UPDATE_DOCS=1 npx vitest run test/config/docs.test.ts` to regenerate the docs.
 * Fields are `<section>.<key>`; keys may contain dots (the Kafka topic config names do).
 */
import { PROFILE_NAMES } from '../../device/profiles.js';
import { TOPIC_CONFIG_NAMES, TOPIC_CONFIG_SPECS, type TopicConfig, type TopicConfigName } from '../store/topic-config.js';
import { DEVICE_ID_FIELD, MIRROR_FIELDS } from '../../bridge/upstream/config-fields.js';
import { aclEntries } from '../../bridge/mqtt/acl.js';
import { logTopicName, mappingRules } from '../../bridge/mqtt/mapping.js';
import { optionalFilePath, optionalHostPort } from '../../bridge/mqtt/config-types.js';
import { saslMechanisms } from '../kafka/server/sasl/config-types.js';
import { bool, bytesSize, dirPath, durationMs, enumOf, hostPort, int, nonEmptyString, orAuto, topicConfig, type FieldType } from './types.js';

/** A raw value as it would appear in the file: it goes through the field's parser like any other. */
export type RawDefault = string | number | boolean;

export interface FieldSpec<T> {
  readonly type: FieldType<T>;
  /** The default, written as an operator would write it; computed defaults get the environment. */
  readonly default: RawDefault | ((env: NodeJS.ProcessEnv) => RawDefault);
  /** How a computed default reads in the docs. */
  readonly defaultDoc?: string;
  /** One line for the reference table and the example file. */
  readonly doc: string;
  /** What to do when the value is invalid. */
  readonly fix: string;
  /** Never logged or printed: replaced by "[redacted]" in config summaries. */
  readonly secret?: boolean;
}

function field<T>(spec: FieldSpec<T>): FieldSpec<T> {
  return spec;
}

/** systemd sets STATE_DIRECTORY for StateDirectory= (colon-separated when there are several). */
function stateDirectoryOrLocal(env: NodeJS.ProcessEnv): string {
  const first = env.STATE_DIRECTORY?.split(':')[0];
  return first !== undefined && first !== '' ? first : './data';
}

const MiB = 2 ** 20;
const GiB = 2 ** 30;

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
    overlapping_sync: field({
      type: bool(),
      default: true,
      doc: 'lmdb-js `overlappingSync`: flush after the commit, outside the write lock, so the next group commit builds during the flush. Appends are acknowledged only once flushed either way.',
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
    allow_unauthenticated_non_loopback: field({
      type: bool(),
      default: false,
      doc: 'The admin listener has no authentication, so Weir refuses to bind it to a non-loopback address unless this is true.',
      fix: 'Set true only if a firewall or proxy protects the port; otherwise keep admin.listen on 127.0.0.1.',
    }),
  },
  mqtt: {
    enabled: field({
      type: bool(),
      default: true,
      doc: 'Run the embedded MQTT 3.1.1 broker, which turns every accepted PUBLISH into a log record.',
      fix: 'Set true or false.',
    }),
    listen: field({
      type: hostPort(),
      default: '127.0.0.1:1883',
      doc: 'Address of the plain-TCP MQTT 3.1.1 listener. Loopback by default; any other address needs `mqtt.password_file` or `mqtt.allow_anonymous: true`.',
      fix: 'Set host:port, e.g. 127.0.0.1:1883, or 0.0.0.0:1883 together with mqtt.password_file or mqtt.allow_anonymous: true.',
    }),
    allow_anonymous: field({
      type: bool(),
      default: false,
      doc: 'Accept clients without a username: needed on a non-loopback `mqtt.listen` without `mqtt.password_file`, and to let anonymous clients in beside password users (mosquitto 2.0 style). Without a password file, loopback accepts them anyway.',
      fix: 'Set true or false.',
    }),
    tls_listen: field({
      type: optionalHostPort(),
      default: '',
      defaultDoc: '`""` (off)',
      doc: 'Address of the MQTT-over-TLS listener (usually port 8883), or "" for none. Needs `mqtt.tls_cert_file` and `mqtt.tls_key_file`; off loopback it needs authentication like `mqtt.listen`.',
      fix: 'Set host:port, e.g. 0.0.0.0:8883, or "" to turn the TLS listener off.',
    }),
    tls_cert_file: field({
      type: optionalFilePath(),
      default: '',
      defaultDoc: '`""`',
      doc: 'PEM certificate chain of the TLS listener.',
      fix: 'Set the path of a PEM certificate file.',
    }),
    tls_key_file: field({
      type: optionalFilePath(),
      default: '',
      defaultDoc: '`""`',
      doc: 'PEM private key of the TLS listener.',
      fix: 'Set the path of a PEM private key file.',
    }),
    tls_ca_file: field({
      type: optionalFilePath(),
      default: '',
      defaultDoc: '`""`',
      doc: 'PEM CA bundle that client certificates must chain to (with `mqtt.tls_require_client_cert`).',
      fix: 'Set the path of a PEM CA file, or "" for none.',
    }),
    tls_require_client_cert: field({
      type: bool(),
      default: false,
      doc: 'TLS clients must present a certificate signed by `mqtt.tls_ca_file`; its Common Name becomes their username (for ACLs and the `mqtt.username` header), and no password is asked.',
      fix: 'Set true or false.',
    }),
    ws_listen: field({
      type: optionalHostPort(),
      default: '',
      defaultDoc: '`""` (off)',
      doc: 'Address of the MQTT-over-WebSocket listener (subprotocol `mqtt`, any path), or "" for none; for browser dashboards. Off loopback it needs authentication like `mqtt.listen`; put TLS in front with a reverse proxy.',
      fix: 'Set host:port, e.g. 127.0.0.1:8080, or "" to turn the WebSocket listener off.',
    }),
    password_file: field({
      type: optionalFilePath(),
      default: '',
      defaultDoc: '`""` (none)',
      doc: 'Password file of MQTT users, made with `weir users add`; reread when it changes. When set, clients must log in (unless `mqtt.allow_anonymous`).',
      fix: 'Set the path of a file made with weir users add, or "" for none.',
    }),
    acl: field({
      type: aclEntries(),
      default: '[]',
      doc: 'Publish/subscribe ACL: `[{user: alice, publish: [sensors/%u/#], subscribe: [cmd/%c/#]}]`; `user` and `client_id` pick whom an entry applies to (both optional), `%u`/`%c` are substituted. Empty = allow all; otherwise what no entry allows is denied (a denied PUBLISH disconnects, a denied SUBSCRIBE gets a failure SUBACK).',
      fix: 'Write a YAML list of entries with user, client_id, publish and subscribe; the message names the entry at fault.',
    }),
    rules: field({
      type: mappingRules(),
      default: '[]',
      doc: 'MQTT→log mapping rules, first match wins: `{filter: sensors/{site}/{device}/#, topic: sensors.{site}, key: "{device}", headers: {…}}`. `{name}` captures one level; templates may also use `{mqtt.topic}`, `{mqtt.client_id}`, `{mqtt.username}`. In a topic, substituted `/` becomes `.` and other illegal characters `_`.',
      fix: 'Write a YAML list of rules, each with filter and topic (key and headers optional); the message names the rule and field at fault.',
    }),
    unmatched: field({
      type: enumOf(['store', 'drop', 'refuse'] as const),
      default: 'store',
      doc: 'Messages no rule matches: `store` = the default rule (log topic `mqtt.unmatched_topic`, key = the MQTT topic); `drop` = acknowledge, discard and count; `refuse` = disconnect the client.',
      fix: 'Set store, drop or refuse.',
    }),
    unmatched_topic: field({
      type: logTopicName(),
      default: 'mqtt',
      doc: 'Log topic of the default rule (`mqtt.unmatched: store`).',
      fix: 'Set a Kafka topic name, e.g. mqtt.',
    }),
    auto_create_topics: field({
      type: bool(),
      default: true,
      doc: 'Create a missing target log topic with `topic_defaults` on its first message. When false a message for a missing topic is refused (the client is disconnected).',
      fix: 'Set true or false.',
    }),
    max_connections: field({
      type: int(1, 1_000_000),
      default: 1000,
      doc: 'Open MQTT connections at most; one more is closed at once, with a log line.',
      fix: 'Set a whole number, e.g. 1000.',
    }),
    max_packet_size: field({
      type: orAuto(bytesSize(64, 256 * MiB)),
      default: 'auto',
      doc: 'Largest MQTT packet (Remaining Length) accepted; a bigger one closes its connection as soon as its header arrives. `auto` = `topic_defaults.max.message.bytes` plus room for the topic name.',
      fix: 'Set auto, or a size such as 1MiB.',
    }),
    max_retained_messages: field({
      type: int(0, 10_000_000),
      default: 10_000,
      doc: 'Topics with a retained message kept for new subscribers (on disk with `mqtt.persistence: lmdb`; only the topic names are held in memory). Past the cap a retained PUBLISH on a new topic is still logged and delivered, but not retained (counted, logged); replacing or clearing an existing one always works.',
      fix: 'Set a whole number, e.g. 10000.',
    }),
    persistence: field({
      type: enumOf(['lmdb', 'memory'] as const),
      default: 'lmdb',
      doc: 'Where the broker keeps MQTT state: retained messages, persistent sessions (clean=false) with their subscriptions and queued QoS 1/2 messages, QoS 2 ids awaiting PUBREL, wills. `lmdb` = in the data directory, surviving restarts; `memory` = aedes\'s in-memory store, lost on restart, and its offline queues are not capped (only `mqtt.max_retained_messages` applies): for tests and comparisons.',
      fix: 'Set lmdb or memory.',
    }),
    max_queued_messages: field({
      type: int(1, 10_000_000),
      default: 1_000,
      doc: 'QoS 1/2 messages queued per persistent session (clean=false) while its client is away or has not acknowledged them. When full, the oldest queued message of that client is dropped (counted, logged): the newest readings are kept.',
      fix: 'Set a whole number, e.g. 1000.',
    }),
    max_queued_messages_total: field({
      type: int(1, 100_000_000),
      default: 100_000,
      doc: 'QoS 1/2 messages queued across all persistent sessions (about 100 bytes of memory each, payloads stay on disk with `mqtt.persistence: lmdb`). When full, the oldest message of the longest queue is dropped (counted, logged).',
      fix: 'Set a whole number, e.g. 100000.',
    }),
    max_keepalive_s: field({
      type: int(0, 65_535),
      default: 0,
      doc: 'Largest keep-alive (seconds) a client may ask for; a CONNECT without one, or with a longer one, is refused. 0 = no limit (and keep-alive 0, never timing out, is allowed).',
      fix: 'Set a whole number of seconds, e.g. 300, or 0 for no limit.',
    }),
    connect_timeout_ms: field({
      type: durationMs(100, 300_000),
      default: 10_000,
      doc: 'How long a new connection has to send its CONNECT before it is closed.',
      fix: 'Set a duration such as 10s.',
    }),
    max_inflight_per_client: field({
      type: int(1, 65_535),
      default: 100,
      doc: 'Appends one client may have waiting for the disk at once; further PUBLISHes wait (and the socket is not read) until one is acknowledged.',
      fix: 'Set a whole number, e.g. 100.',
    }),
  },
  kafka: {
    enabled: field({
      type: bool(),
      default: true,
      doc: 'Serve the Kafka wire protocol, so standard Kafka clients (kcat, kafkajs, librdkafka, Java) produce, fetch and list offsets against Weir.',
      fix: 'Set true or false.',
    }),
    listen: field({
      type: hostPort(),
      default: '127.0.0.1:9092',
      doc: 'Address of the Kafka protocol listener: plain TCP, or TLS with `kafka.tls_cert_file`. A non-loopback address needs authentication (`kafka.sasl_credentials_file`, or client certificates with `kafka.tls_ca_file`) or `kafka.allow_unauthenticated_non_loopback: true`.',
      fix: 'Set host:port, e.g. 127.0.0.1:9092 (port 0 picks a free one).',
    }),
    advertised_host: field({
      type: orAuto(nonEmptyString()),
      default: 'auto',
      doc: 'Host that Metadata tells clients to connect to. `auto` = the `kafka.listen` host, or 127.0.0.1 when that is a wildcard (0.0.0.0 or ::), which is never advertised.',
      fix: 'Set auto, or a host name or address clients can reach, e.g. gateway.local.',
    }),
    advertised_port: field({
      type: orAuto(int(1, 65_535)),
      default: 'auto',
      doc: 'Port that Metadata tells clients to connect to. `auto` = the port actually bound.',
      fix: 'Set auto, or a port from 1 to 65535.',
    }),
    allow_unauthenticated_non_loopback: field({
      type: bool(),
      default: false,
      doc: 'Without SASL (`kafka.sasl_credentials_file`) or client certificates (`kafka.tls_ca_file`), Weir refuses to bind the Kafka listener to a non-loopback address unless this is true.',
      fix: 'Set true only if a firewall protects the port; otherwise keep kafka.listen on 127.0.0.1 or turn on SASL.',
    }),
    sasl_credentials_file: field({
      type: optionalFilePath(),
      default: '',
      defaultDoc: '`""` (SASL off)',
      doc: 'Kafka users with salted SCRAM-SHA-256 credentials, made with `weir kafka-users add`; reread when it changes. When set, every Kafka client must authenticate with SASL (security.protocol SASL_PLAINTEXT, or SASL_SSL with TLS).',
      fix: 'Set the path of a file made with weir kafka-users add, or "" for no SASL.',
    }),
    sasl_mechanisms: field({
      type: saslMechanisms(),
      default: 'SCRAM-SHA-256,PLAIN',
      doc: 'SASL mechanisms offered with `kafka.sasl_credentials_file`. PLAIN sends the password itself: offer it only with TLS, or on loopback.',
      fix: 'Set SCRAM-SHA-256, PLAIN, or both comma-separated.',
    }),
    tls_cert_file: field({
      type: optionalFilePath(),
      default: '',
      defaultDoc: '`""` (plain TCP)',
      doc: 'PEM certificate chain: when set (with `kafka.tls_key_file`), the Kafka listener speaks TLS only (security.protocol SSL, or SASL_SSL with SASL).',
      fix: 'Set the path of a PEM certificate file, or "" for plain TCP.',
    }),
    tls_key_file: field({
      type: optionalFilePath(),
      default: '',
      defaultDoc: '`""`',
      doc: 'PEM private key of `kafka.tls_cert_file`.',
      fix: 'Set the path of a PEM private key file.',
    }),
    tls_ca_file: field({
      type: optionalFilePath(),
      default: '',
      defaultDoc: '`""` (no client certificates)',
      doc: 'PEM CA bundle: when set, TLS clients must present a certificate signed by it (mutual TLS, which counts as authentication).',
      fix: 'Set the path of a PEM CA file, or "" to not ask for client certificates.',
    }),
    auto_create_topics_enable: field({
      type: bool(),
      default: true,
      doc: 'Kafka\'s `auto.create.topics.enable`: a Metadata or Produce request for a missing topic creates it with `topic_defaults.partitions`.',
      fix: 'Set true or false.',
    }),
    max_frame_bytes: field({
      type: bytesSize(64 * 1024, GiB),
      default: '16MiB',
      doc: 'Largest Kafka request frame accepted (Kafka\'s `socket.request.max.bytes`); a bigger size prefix closes that connection. Keep it above `max.message.bytes`.',
      fix: 'Set a size such as 16MiB (at least 64KiB).',
    }),
    max_connections: field({
      type: int(1, 100_000),
      default: 256,
      doc: 'Open Kafka connections at most; one more is closed at once, with a log line.',
      fix: 'Set a whole number, e.g. 256.',
    }),
    max_in_flight_per_connection: field({
      type: int(1, 10_000),
      default: 32,
      doc: 'Requests one connection may have being served or waiting to be answered; at the cap its socket is not read until a response is sent.',
      fix: 'Set a whole number, e.g. 32.',
    }),
    max_queued_request_bytes: field({
      type: bytesSize(MiB, 16 * GiB),
      default: '32MiB',
      doc: 'Request bytes all connections together may hold while they are served (Kafka\'s `queued.max.request.bytes`). When spent, connections with a request in flight are not read; an idle one may still send one request, so every client progresses.',
      fix: 'Set a size such as 32MiB (smaller on a 512 MB board).',
    }),
  },
  device: {
    id: DEVICE_ID_FIELD,
    profile: field({
      type: enumOf(['auto', ...PROFILE_NAMES] as const),
      default: 'auto',
      doc: 'Board profile for memory-bound defaults (the `auto` write-queue caps): pi-zero-2w, pi-4, pi-5, generic (≥ 1 GB) or small (< 1 GB). `auto` detects the board from /proc/device-tree/model, else from the memory size.',
      fix: `Set auto or one of ${PROFILE_NAMES.join(', ')}.`,
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

export function rawDefault(entry: FieldEntry, env: NodeJS.ProcessEnv): RawDefault {
  const d = entry.spec.default;
  return typeof d === 'function' ? d(env) : d;
}

/** The default as the docs show it. */
export function defaultDoc(entry: FieldEntry): string {
  if (entry.spec.defaultDoc !== undefined) return entry.spec.defaultDoc;
  return `\`${String(rawDefault(entry, {}))}\``;
}
