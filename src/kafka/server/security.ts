/**
 * The Kafka listener's protection from its clients, from the config: SASL and TLS (the
 * kafka.sasl_* and kafka.tls_* fields), and the limits on what a client can make it hold or keep
 * (kafka.fetch_max_bytes, max_queued_response_bytes, connections_max_idle_ms, request_read_timeout_ms).
 */
import type { WeirConfig } from '../../config/schema.js';
import { WeirError } from '../../errors.js';
import type { KafkaListenerOptions } from './listener.js';

type SecurityOptions = Pick<KafkaListenerOptions, 'sasl' | 'tls' | 'fetchMaxBytes' | 'maxQueuedResponseBytes' | 'connectionsMaxIdleMs' | 'requestReadTimeoutMs'>;

export function kafkaSecurityFromConfig(config: WeirConfig): SecurityOptions {
  const k = config.kafka;
  const out: SecurityOptions = {
    fetchMaxBytes: k.fetch_max_bytes,
    maxQueuedResponseBytes: k.max_queued_response_bytes,
    connectionsMaxIdleMs: k.connections_max_idle_ms,
    requestReadTimeoutMs: k.request_read_timeout_ms,
  };
  if (k.sasl_credentials_file !== '') out.sasl = { mechanisms: k.sasl_mechanisms, credentialsFile: k.sasl_credentials_file };
  if ((k.tls_cert_file === '') !== (k.tls_key_file === '')) {
    throw new WeirError('CONFIG_INVALID', 'kafka.tls_cert_file and kafka.tls_key_file go together: set both for TLS, or neither', { details: { field: 'kafka.tls_cert_file' } });
  }
  if (k.tls_ca_file !== '' && k.tls_cert_file === '') {
    throw new WeirError('CONFIG_INVALID', 'kafka.tls_ca_file (client certificates) needs TLS: set kafka.tls_cert_file and kafka.tls_key_file too', { details: { field: 'kafka.tls_ca_file' } });
  }
  if (k.tls_cert_file !== '') out.tls = { certFile: k.tls_cert_file, keyFile: k.tls_key_file, ...(k.tls_ca_file === '' ? {} : { caFile: k.tls_ca_file }) };
  return out;
}
