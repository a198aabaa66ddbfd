/** The Kafka listener's SASL and TLS settings from the config (the kafka.sasl_* and kafka.tls_* fields). */
import type { WeirConfig } from '../../config/schema.js';
import { WeirError } from '../../errors.js';
import type { KafkaListenerOptions } from './listener.js';

export function kafkaSecurityFromConfig(config: WeirConfig): Pick<KafkaListenerOptions, 'sasl' | 'tls'> {
  const k = config.kafka;
  const out: Pick<KafkaListenerOptions, 'sasl' | 'tls'> = {};
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
