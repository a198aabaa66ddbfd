/** The MQTT bridge's options from Weir's validated config. */
import type { WeirConfig } from '../../src/config/schema.js';
import { WeirError } from '../../src/errors.js';
import type { MqttBridgeOptions } from './index.js';

/**
 * Room for the rest of a PUBLISH around its payload: topic name (2-byte length + up to 65535
 * bytes [MQTT-1.5.3]) and packet identifier (2 bytes).
 */
export const PUBLISH_OVERHEAD_BYTES = 2 + 65_535 + 2;

export function mqttOptionsFromConfig(config: WeirConfig): MqttBridgeOptions {
  const mqtt = config.mqtt;
  return {
    listen: { host: mqtt.listen.host, port: mqtt.listen.port },
    tls: tlsOptions(mqtt),
    ws: mqtt.ws_listen === '' ? undefined : { host: mqtt.ws_listen.host, port: mqtt.ws_listen.port },
    allowAnonymous: mqtt.allow_anonymous,
    passwordFile: mqtt.password_file === '' ? undefined : mqtt.password_file,
    acl: mqtt.acl,
    rules: mqtt.rules,
    unmatched: mqtt.unmatched,
    unmatchedTopic: mqtt.unmatched_topic,
    autoCreateTopics: mqtt.auto_create_topics,
    createdTopicConfigs: {
      'flush.ms': String(mqtt.created_topic_flush_ms),
      'compression.type': mqtt.created_topic_compression_type,
    },
    maxConnections: mqtt.max_connections,
    maxPacketSize: mqtt.max_packet_size === 'auto'
      ? config.topic_defaults['max.message.bytes'] + PUBLISH_OVERHEAD_BYTES
      : mqtt.max_packet_size,
    maxInflightPerClient: mqtt.max_inflight_per_client,
    maxOutgoingBytesPerClient: mqtt.max_outgoing_bytes_per_client,
    maxRetained: mqtt.max_retained_messages,
    persistence: mqtt.persistence,
    maxQueuedPerClient: mqtt.max_queued_messages,
    maxQueuedTotal: mqtt.max_queued_messages_total,
    maxQueuedBytes: mqtt.max_queued_bytes,
    keepaliveLimitS: mqtt.max_keepalive_s,
    connectTimeoutMs: mqtt.connect_timeout_ms,
    idleTimeoutMs: mqtt.idle_timeout_ms,
  };
}

function tlsOptions(mqtt: WeirConfig['mqtt']): MqttBridgeOptions['tls'] {
  if (mqtt.tls_listen === '') return undefined;
  const missing = [
    ...(mqtt.tls_cert_file === '' ? ['mqtt.tls_cert_file'] : []),
    ...(mqtt.tls_key_file === '' ? ['mqtt.tls_key_file'] : []),
    ...(mqtt.tls_require_client_cert && mqtt.tls_ca_file === '' ? ['mqtt.tls_ca_file'] : []),
  ];
  if (missing.length > 0) {
    throw new WeirError('CONFIG_INVALID', `mqtt.tls_listen is set, so ${missing.join(' and ')} must be set too`, { details: { fields: missing } });
  }
  return {
    listen: { host: mqtt.tls_listen.host, port: mqtt.tls_listen.port },
    certFile: mqtt.tls_cert_file,
    keyFile: mqtt.tls_key_file,
    caFile: mqtt.tls_ca_file === '' ? undefined : mqtt.tls_ca_file,
    requireClientCert: mqtt.tls_require_client_cert,
  };
}
