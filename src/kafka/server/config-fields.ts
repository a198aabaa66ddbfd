/**
 * The `kafka` section of the config schema (src/config/schema.ts includes it): the listener,
 * its advertised address, TLS and SASL, auto-creation and the request limits.
 */
import { field, GiB, MiB } from '../../config/field.js';
import { bool, bytesSize, durationMs, hostPort, int, nonEmptyString, optionalFilePath, orAuto } from '../../config/types.js';
import { saslMechanisms } from './sasl/config-types.js';

export const KAFKA_FIELDS = {
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
    doc: 'Kafka users with salted SCRAM-SHA-256 credentials, made with `weir users add --kafka`; reread when it changes. When set, every Kafka client must authenticate with SASL (security.protocol SASL_PLAINTEXT, or SASL_SSL with TLS).',
    fix: 'Set the path of a file made with weir users add --kafka, or "" for no SASL.',
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
  socket_request_max_bytes: field({
    type: bytesSize(64 * 1024, GiB),
    default: '16MiB',
    doc: 'Largest Kafka request accepted (Kafka\'s `socket.request.max.bytes`, 100MiB there); a bigger size prefix closes that connection before any of it is buffered. 16MiB holds a produce request of 16 batches at the default `max.message.bytes` (1MiB); two of Kafka\'s 100MiB would fill a 512 MB board. Keep it above `max.message.bytes`.',
    fix: 'Set a size such as 16MiB (at least 64KiB).',
  }),
  max_connections: field({
    type: int(1, 100_000),
    default: 256,
    doc: 'Open Kafka connections at most. One more closes the longest-idle connection (nothing being served) to take its place; only when every connection is busy is the new one closed at once, with a log line.',
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
    doc: 'Request bytes all connections together may hold (Kafka\'s `queued.max.request.bytes`), counted from the moment a request\'s size is read, before its body arrives, until it is answered. A connection whose next request does not fit is not read until bytes are given back; a request bigger than this passes when nothing else is held, and one of up to 64KiB from a connection holding nothing always passes (Metadata, heartbeats and small produces keep flowing).',
    fix: 'Set a size such as 32MiB (smaller on a 512 MB board).',
  }),
  fetch_max_bytes: field({
    type: bytesSize(64 * 1024, GiB),
    default: '8MiB',
    doc: 'Most record bytes one Fetch response carries (Kafka\'s broker `fetch.max.bytes`, 55MiB there): a request\'s max_bytes and partition_max_bytes above it are lowered to it, though the first batch always comes whole (KIP-74). A connection gets one Fetch served at a time, and none while it is not reading its responses.',
    fix: 'Set a size such as 8MiB (at least 64KiB), above the largest max.message.bytes consumers must read in one go.',
  }),
  max_queued_response_bytes: field({
    type: bytesSize(MiB, 16 * GiB),
    default: '32MiB',
    doc: 'Fetch response bytes all connections together may hold until their sockets take them (clients that do not read their responses hold theirs). A Fetch reads at most what is left (at least one whole batch, KIP-74), and while none is left, no further Fetch is started.',
    fix: 'Set a size such as 32MiB (smaller on a 512 MB board), at least kafka.fetch_max_bytes.',
  }),
  connections_max_idle_ms: field({
    type: durationMs(1_000, 86_400_000),
    default: 120_000,
    doc: 'A Kafka connection with nothing read, written or being served for this long is closed (Kafka\'s `connections.max.idle.ms`, 10 minutes there); clients reconnect when they next need to. Shorter than Kafka\'s so the sockets of clients that vanished without closing (a device losing power or Wi-Fi) are reclaimed in minutes on a small board.',
    fix: 'Set a duration such as 120000 or 2m, at least 1s.',
  }),
  request_read_timeout_ms: field({
    type: durationMs(100, 3_600_000),
    default: 30_000,
    doc: 'A Kafka request still arriving this long after its first byte closes its connection, however steadily it trickles, so a slow sender cannot keep its share of `kafka.max_queued_request_bytes` (Kafka has no separate setting). 30s passes a 16MiB request at 560 KB/s.',
    fix: 'Set a duration such as 30000 or 30s, at least 100ms.',
  }),
  transaction_max_timeout_ms: field({
    type: durationMs(1_000, 86_400_000),
    default: 900_000,
    doc: 'Longest `transaction.timeout.ms` a transactional producer may ask for (Kafka\'s `transaction.max.timeout.ms`); a longer one fails InitProducerId with INVALID_TRANSACTION_TIMEOUT. A transaction open longer than its timeout is aborted and its producer fenced. An open transaction holds back every read_committed consumer of its partitions, so keep it short.',
    fix: 'Set a duration such as 900000 or 15m (at least 1s), at least the transaction.timeout.ms of your producers (60000 by default in every client).',
  }),
  transactional_id_expiration_ms: field({
    type: durationMs(60_000),
    default: 604_800_000,
    doc: 'A transactional id with no transaction open and no request for this long is forgotten, with its producer id and epoch (Kafka\'s `transactional.id.expiration.ms`, 7 days).',
    fix: 'Set a duration such as 604800000 or 7d, at least 1m.',
  }),
  producer_id_expiration_ms: field({
    type: durationMs(60_000),
    default: 86_400_000,
    doc: 'An idempotent producer the log has had no batch from for this long is forgotten: its next batch is accepted with whatever sequence it carries (Kafka\'s `producer.id.expiration.ms`, 1 day). Until then a batch it re-sends, across restarts too, is recognised and not written twice.',
    fix: 'Set a duration such as 86400000 or 1d, at least 1m.',
  }),
} as const;
