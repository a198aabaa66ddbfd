/**
 * The mirror's Kafka client: @confluentinc/kafka-javascript (librdkafka), its native `Producer`.
 *
 * Why this client: tried against an upstream that was down, hung, and dropped acknowledgements,
 * it delivered idempotent records with nothing lost, duplicated or reordered; kafkajs lost
 * acknowledged records with concurrent idempotent sends (a bug still open upstream) and is
 * unmaintained; @platformatic/kafka 2.x needs Node ≥ 22.22.
 *
 * It is an optional dependency compiled at install time (CommonJS), so it is loaded lazily with
 * createRequire: Weir without upstreams never touches it, and Weir with upstreams but without the
 * module fails at start with the commands that build it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as RdKafka from '@confluentinc/kafka-javascript';
import { WeirError } from '../../src/errors.js';
import type { MirrorCompression, MirrorRuleSpec, UpstreamSpec } from './config.js';

export type KafkaModule = typeof RdKafka;
export type Producer = RdKafka.Producer;
export type DeliveryReport = RdKafka.DeliveryReport;
export type LibrdKafkaError = RdKafka.LibrdKafkaError;
export type MessageHeader = RdKafka.MessageHeader;

const BUILD_HINT =
  'sudo apt-get install -y build-essential pkg-config libssl-dev zlib1g-dev libzstd-dev, then CKJS_LINKING=dynamic npm ci (see README "The mirror\'s Kafka client")';

let loaded: KafkaModule | undefined;

/** Loads the client once; throws MIRROR_CLIENT_MISSING with the build commands when it did not build. */
export function loadKafkaClient(): KafkaModule {
  if (loaded !== undefined) return loaded;
  const require = createRequire(import.meta.url);
  try {
    loaded = require('@confluentinc/kafka-javascript') as KafkaModule;
    return loaded;
  } catch (err) {
    throw new WeirError(
      'MIRROR_CLIENT_MISSING',
      `mirror.upstreams is configured but the mirror's Kafka client (@confluentinc/kafka-javascript) is not installed or did not build: ${BUILD_HINT}; or remove mirror.upstreams and mirror.rules to run without the mirror`,
      { cause: err },
    );
  }
}

const CODEC: Record<MirrorCompression, string> = { none: 'none', gzip: 'gzip', snappy: 'snappy', lz4: 'lz4', zstd: 'zstd' };

/**
 * librdkafka settings for one rule's producer. The important ones:
 * - acks=all and enable.idempotence (KIP-98): retries inside librdkafka never duplicate or
 *   reorder within one producer session.
 * - message.timeout.ms=0 (infinite): a record is never failed just because the upstream was away
 *   for long; the mirror caps what is in flight instead, so librdkafka's queue stays small and the
 *   log on disk is the buffer (queue.buffering.max.* are set just above the mirror's own caps).
 * - message.max.bytes large: the upstream, not librdkafka, decides what is too large, so a refusal
 *   names the upstream's limit.
 */
export function producerConfig(upstream: UpstreamSpec, rule: MirrorRuleSpec, deviceId: string): Record<string, string | number | boolean> {
  const conf: Record<string, string | number | boolean> = {
    'bootstrap.servers': upstream.bootstrapServers.join(','),
    'client.id': upstream.clientId.replaceAll('{device}', deviceId),
    dr_cb: true,
    acks: 'all',
    'enable.idempotence': true,
    'max.in.flight.requests.per.connection': 5,
    'message.timeout.ms': 0,
    'request.timeout.ms': 15_000,
    'socket.timeout.ms': 15_000,
    'socket.connection.setup.timeout.ms': 10_000,
    'socket.keepalive.enable': true,
    'reconnect.backoff.ms': 200,
    'reconnect.backoff.max.ms': 10_000,
    'retry.backoff.ms': 200,
    'retry.backoff.max.ms': 5_000,
    'linger.ms': rule.lingerMs,
    'batch.num.messages': rule.batchSize,
    'compression.codec': CODEC[rule.compression],
    'queue.buffering.max.messages': rule.maxInFlight + 1_000,
    'queue.buffering.max.kbytes': Math.ceil(rule.maxInFlightBytes / 1024) + 1024,
    'message.max.bytes': 256 * 2 ** 20,
    'topic.metadata.refresh.interval.ms': 60_000,
    // Broker states for the mirror's connected/disconnected figure (upstream-link.ts onStats).
    'statistics.interval.ms': 1000,
  };
  // Java's default partitioner (murmur2 of the key, random for null keys): a key lands where a
  // Java producer would put it.
  if (rule.partitioning === 'key') conf.partitioner = 'murmur2_random';
  return { ...conf, ...securityConfig(upstream) };
}

/** librdkafka's TLS and SASL settings for an upstream (also used by `weir doctor`). */
export function securityConfig(upstream: UpstreamSpec): Record<string, string> {
  const conf: Record<string, string> = {};
  if (upstream.tls !== undefined) {
    conf['security.protocol'] = upstream.sasl !== undefined ? 'sasl_ssl' : 'ssl';
    if (upstream.tls.caFile !== '') conf['ssl.ca.location'] = upstream.tls.caFile;
    if (upstream.tls.certFile !== '') conf['ssl.certificate.location'] = upstream.tls.certFile;
    if (upstream.tls.keyFile !== '') conf['ssl.key.location'] = upstream.tls.keyFile;
  } else if (upstream.sasl !== undefined) conf['security.protocol'] = 'sasl_plaintext';
  if (upstream.sasl !== undefined) {
    conf['sasl.mechanisms'] = upstream.sasl.mechanism;
    conf['sasl.username'] = upstream.sasl.username;
    conf['sasl.password'] = readPassword(upstream);
  }
  return conf;
}

/** Read at each connect, so a rotated credential is picked up without a restart (both clients). */
export function readPassword(upstream: UpstreamSpec): string {
  const file = upstream.sasl!.passwordFile;
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new WeirError('CONFIG_INVALID', `upstream "${upstream.name}": cannot read sasl.password_file ${file}: ${(err as Error).message}; check the path and that the weir user may read it (systemd LoadCredential= puts it under $CREDENTIALS_DIRECTORY)`, {
      cause: err,
      details: { upstream: upstream.name, file },
    });
  }
}

/** librdkafka's disconnect flushes first; 0 means do not wait (unacknowledged records are resent after the restart). */
export function disconnect(p: Producer, flushMs: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, 5000);
    try {
      p.setPollInterval(0);
      p.disconnect(flushMs, () => {
        clearTimeout(t);
        resolve();
      });
    } catch {
      clearTimeout(t);
      resolve();
    }
  });
}

/** A failed connect, with librdkafka's own reason when it logged one. */
export interface ConnectFailure extends Error {
  /** e.g. "SASL authentication error: … invalid credentials": the error itself only says "broker transport failure". */
  reason?: string;
}

/**
 * `connect()` (bootstrap, TLS, SASL, metadata). Why a connect fails (authentication, TLS
 * verification, name resolution) reaches us only as a librdkafka log line, so warnings logged
 * during the attempt are kept and the last one is the rejection's `reason`.
 */
export function connectProducer(producer: Producer, timeoutMs: number): Promise<void> {
  let reason: string | undefined;
  const onLog = (event: { severity?: number; message?: string }): void => {
    if ((event.severity ?? 7) <= 4 && event.message !== undefined) reason = clientLogLine(event.message);
  };
  producer.on('event.log', onLog);
  return new Promise((resolve, reject) =>
    producer.connect({ timeout: timeoutMs }, (err) => {
      producer.removeListener('event.log', onLog);
      if (!err) return resolve();
      const failure: ConnectFailure = err instanceof Error ? err : new Error(String(err));
      if (reason !== undefined) failure.reason = reason;
      reject(failure);
    }),
  );
}

/**
 * A librdkafka log line without its thread and broker prefix and its timing suffix, so the same
 * problem reads the same every time (the mirror logs a repeated error once):
 * "[thrd:…]: sasl_ssl://h:9092/bootstrap: SASL authentication error: … (after 12ms in state AUTH_REQ)".
 */
export function clientLogLine(message: string): string {
  return message
    .replace(/^\[thrd:[^\]]*\]:\s*/, '')
    .replace(/^[a-z_]+:\/\/\S+:\s*/, '')
    .replace(/\s*\(after \d+ms.*\)\s*$/, '');
}

/**
 * Whether some broker connection is UP, from a librdkafka statistics line (`statistics.interval.ms`):
 * how the mirror tells it is connected, since the binding's error events lose librdkafka's error
 * code. Undefined for a malformed line.
 */
export function brokersUp(json: string): boolean | undefined {
  try {
    const stats = JSON.parse(json) as { brokers?: Record<string, { nodeid: number; state: string }> };
    return Object.values(stats.brokers ?? {}).some((b) => b.nodeid >= 0 && b.state === 'UP');
  } catch {
    return undefined;
  }
}
