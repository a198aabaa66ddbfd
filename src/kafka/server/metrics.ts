/**
 * The Kafka listener's Prometheus metrics. Counters are read from KafkaServerStats at scrape
 * time (nothing runs between scrapes); only the latency histogram is fed per request, through
 * the stats' observer. Registered from main.ts into the admin registry, like the MQTT bridge's.
 */
import { Gauge, Histogram, type Registry } from 'prom-client';
import { mirroredCounter } from '../../admin/mirrored-counter.js';
import type { KafkaListener } from './listener.js';
import { CLOSE_REASONS, type KafkaServerStats } from './stats.js';

/** Every metric this file registers, for the docs and the test that checks they are all served. */
export const KAFKA_METRIC_NAMES = [
  'weir_kafka_connections',
  'weir_kafka_connections_accepted_total',
  'weir_kafka_connections_closed_total',
  'weir_kafka_requests_total',
  'weir_kafka_request_duration_seconds',
  'weir_kafka_bytes_received_total',
  'weir_kafka_bytes_sent_total',
  'weir_kafka_records_produced_total',
  'weir_kafka_records_fetched_total',
  'weir_kafka_sasl_authentications_total',
  'weir_kafka_queued_request_bytes',
] as const;

/** Fetch long polls wait up to max_wait_ms, so its latency shows the wait; the top buckets are for it. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function registerKafkaMetrics(registry: Registry, stats: KafkaServerStats, listener: () => KafkaListener | undefined): void {
  const mirrored = (name: string, help: string, read: () => Record<string, number>, labels: string[] = []): void => mirroredCounter(registry, name, help, read, labels);
  new Gauge({
    name: 'weir_kafka_connections', help: 'Open Kafka protocol connections', registers: [registry],
    collect() {
      this.set(listener()?.connectionCount() ?? 0);
    },
  });
  new Gauge({
    name: 'weir_kafka_queued_request_bytes', help: 'Request bytes held while being served, all connections (cap: kafka.max_queued_request_bytes)', registers: [registry],
    collect() {
      this.set(listener()?.queuedRequestBytes().now ?? 0);
    },
  });
  new Gauge({
    name: 'weir_kafka_queued_response_bytes', help: 'Fetch response bytes built and not yet taken by their sockets, all connections (cap: kafka.max_queued_response_bytes)', registers: [registry],
    collect() {
      this.set(listener()?.queuedResponseBytes().now ?? 0);
    },
  });
  mirrored('weir_kafka_connections_accepted_total', 'Kafka connections accepted', () => ({ '': stats.connectionsAccepted }));
  mirrored(
    'weir_kafka_connections_closed_total',
    'Kafka connections Weir closed or refused, by reason: bad_input (bad frame, unparsable request, unknown API or version), max_connections, auth_failed, unauthenticated_request (a request before SASL finished), tls_handshake, idle (kafka.connections_max_idle_ms), slow_request (a request not whole within kafka.request_read_timeout_ms), evicted_idle (the longest-idle connection, closed to admit a new one at kafka.max_connections)',
    () => Object.fromEntries(CLOSE_REASONS.map((r) => [r, stats.closed[r]])),
    ['reason'],
  );
  mirrored('weir_kafka_requests_total', 'Kafka requests answered, by API and error (NONE, or Kafka\'s name of the first error code in the response)', () => Object.fromEntries(stats.requests), ['api', 'error']);
  mirrored('weir_kafka_bytes_received_total', 'Bytes read from Kafka clients', () => ({ '': stats.bytesIn }));
  mirrored('weir_kafka_bytes_sent_total', 'Bytes written to Kafka clients', () => ({ '': stats.bytesOut }));
  mirrored('weir_kafka_records_produced_total', 'Records appended through Produce', () => ({ '': stats.recordsProduced }));
  mirrored('weir_kafka_records_fetched_total', 'Records returned by Fetch (whole stored batches)', () => ({ '': stats.recordsFetched }));
  mirrored('weir_kafka_sasl_authentications_total', 'SASL logins on the Kafka listener, by result', () => {
    const c = listener()?.saslCounters();
    return { succeeded: c?.succeeded ?? 0, failed: c?.failed ?? 0 };
  }, ['result']);
  observeLatency(registry, stats);
}

/** The latency histogram, fed per request through the stats' observer (one child per API, kept). */
function observeLatency(registry: Registry, stats: KafkaServerStats): void {
  const latency = new Histogram({
    name: 'weir_kafka_request_duration_seconds',
    help: 'Time from a request being read to its response being ready, by API (Fetch includes its long-poll wait; Produce with acks≠0 the durable commit)',
    labelNames: ['api'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const children = new Map<string, { observe(v: number): void }>();
  stats.observer = (api, _error, seconds) => {
    let child = children.get(api);
    if (child === undefined) {
      child = latency.labels({ api });
      children.set(api, child);
    }
    child.observe(seconds);
  };
}
