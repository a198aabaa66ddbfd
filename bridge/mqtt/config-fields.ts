/**
 * The `mqtt` section of the config schema (src/config/schema.ts includes it): listeners, TLS,
 * authentication, ACLs, mapping rules, limits and persistence of the embedded broker.
 */
import { field, MiB } from '../../src/config/field.js';
import {
  bool,
  bytesSize,
  durationMs,
  enumOf,
  hostPort,
  int,
  optionalFilePath,
  optionalHostPort,
  orAuto,
  topicConfig,
} from '../../src/config/types.js';
import { aclEntries } from './acl.js';
import { logTopicName, mappingRules } from './mapping.js';

export const MQTT_FIELDS = {
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
  created_topic_flush_ms: field({
    type: topicConfig('flush.ms'),
    default: 1000,
    doc: 'The `flush.ms` topic config of log topics that MQTT ingest creates: a QoS 1/2 PUBLISH is acknowledged once the commit that carries it is on disk, and a commit waits up to this long (or for 64 KiB) to carry many. 1000 ms cuts what an SD card receives at sensor rates about a hundredfold (about 2.2 GB/day at 100 msg/s, not ~300 GB); 0 commits as soon as the writer is free (PUBACK in a few ms, hundreds of times the writes). Change a topic later with `weir topics alter --bootstrap-server 127.0.0.1:9092 --topic <topic> --config flush.ms=…`.',
    fix: 'Set milliseconds from 0 to 3600000, e.g. 1000.',
  }),
  created_topic_compression_type: field({
    type: topicConfig('compression.type'),
    default: 'gzip',
    doc: 'The `compression.type` topic config of log topics that MQTT ingest creates. gzip stores sensor JSON with its `mqtt.*` headers in about 0.2 bytes per payload byte (lz4 0.4, none 1.9) and is the one codec every Kafka client reads without a plug-in.',
    fix: 'Set gzip, lz4, snappy, uncompressed or producer.',
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
  max_queued_bytes: field({
    type: bytesSize(64 * 1024, 64 * 1024 * MiB),
    default: '64MiB',
    doc: 'Payload bytes queued on disk for all persistent sessions together (mosquitto\'s name; each payload is stored once however many sessions queue it). A QoS 1/2 message that would go past it is not queued for the sessions that are offline (counted in `weir_mqtt_queue_dropped_total{cap="bytes"}`, logged at most every 10 s); connected ones still get it.',
    fix: 'Set a size such as 64MiB.',
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
  max_outgoing_bytes_per_client: field({
    type: bytesSize(1024, 256 * MiB),
    default: '1MiB',
    doc: 'Bytes a connection may have waiting in its socket for a subscriber that does not read them. Past it, further QoS 0 deliveries to it (and all deliveries to a clean session) are dropped and counted (`weir_mqtt_deliveries_dropped_total{reason="slow-subscriber"}`) until it has read what was waiting; QoS 1/2 deliveries to a persistent session stay in its queue (`mqtt.max_queued_messages`) for its next connection (with `mqtt.persistence: lmdb`), whose replay of the queue goes at the pace the client reads. Publishers are never held back by a subscriber.',
    fix: 'Set a size such as 1MiB.',
  }),
  idle_timeout_ms: field({
    type: durationMs(0, 86_400_000),
    default: 300_000,
    defaultDoc: '`300000` (5 min)',
    doc: 'A client that asked for keep-alive 0 (no timeout of its own) is disconnected once nothing has been received from it for this long (checked every quarter of it), so a device that vanished without closing its connection does not hold a socket and a `mqtt.max_connections` slot forever. Clients with a keep-alive are disconnected after 1.5× it, as MQTT says. 0 = never.',
    fix: 'Set a duration such as 5m, or 0 to keep idle keep-alive-0 connections open.',
  }),
  max_inflight_per_client: field({
    type: int(1, 65_535),
    default: 100,
    doc: 'Appends one client may have waiting for the disk at once; further PUBLISHes wait (and the socket is not read) until one is acknowledged.',
    fix: 'Set a whole number, e.g. 100.',
  }),
} as const;
