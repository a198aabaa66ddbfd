/**
 * The MQTT bridge's Prometheus metrics, read from its counters at scrape time (the admin
 * registry's pattern: nothing runs between scrapes). Every refusal and drop the bridge counts is
 * here, so an operator can alert on disconnected sensors and dropped messages.
 */
import { Gauge, type Registry } from 'prom-client';
import { mirroredCounter } from '../../src/admin/mirrored-counter.js';
import type { MqttStats } from './stats.js';

export function registerMqttMetrics(registry: Registry, stats: () => MqttStats): void {
  const mirrored = (name: string, help: string, read: (s: MqttStats) => Record<string, number>, label?: string): void => mirroredCounter(registry, name, help, () => read(stats()), label === undefined ? [] : [label]);
  new Gauge({
    name: 'weir_mqtt_connections', help: 'Open MQTT connections', registers: [registry],
    collect() {
      this.set(stats().connections.open);
    },
  });
  mirrored('weir_mqtt_publishes_received_total', 'PUBLISH packets that reached the log mapping, by QoS', (s) => ({ 0: s.received[0] ?? 0, 1: s.received[1] ?? 0, 2: s.received[2] ?? 0 }), 'qos');
  mirrored('weir_mqtt_records_appended_total', 'MQTT messages durably appended to the log', (s) => ({ all: s.appended }));
  mirrored('weir_mqtt_qos2_duplicates_total', 'QoS 2 retransmissions answered without a second append', (s) => ({ all: s.duplicates }));
  mirrored('weir_mqtt_unmatched_dropped_total', 'Messages no mapping rule matched, acknowledged and dropped (mqtt.unmatched: drop)', (s) => ({ all: s.unmatchedDropped }));
  mirrored('weir_mqtt_retain_refused_total', 'Retained PUBLISHes logged but not retained (mqtt.max_retained_messages)', (s) => ({ all: s.retainRefused }));
  mirrored('weir_mqtt_append_retries_total', 'Appends retried with the PUBACK withheld (store blocked or write queue full)', (s) => ({ all: s.retries }));
  mirrored('weir_mqtt_publishes_refused_total', 'PUBLISHes refused by disconnecting the client, by reason', (s) => s.refused, 'reason');
  mirrored('weir_mqtt_connections_closed_total', 'Connections the bridge closed or refused, by reason', (s) => ({
    max_connections: s.connections.rejectedMaxConnections,
    max_packet_size: s.connections.closedOversize,
    idle: s.connections.closedIdle,
    protocol_error: s.connections.closedProtocolError,
    auth_failed: s.connections.authFailed,
    tls_handshake: s.connections.tlsHandshakeFailed,
  }), 'reason');
  mirrored('weir_mqtt_deliveries_dropped_total', 'Deliveries to subscribers dropped, by reason (slow-subscriber: past mqtt.max_outgoing_bytes_per_client)', (s) => ({
    'slow-subscriber': s.deliveries.droppedSlowSubscriber,
  }), 'reason');
  mirrored('weir_mqtt_deliveries_deferred_total', 'QoS 1/2 deliveries to persistent sessions left in the session queue for the next connection (past mqtt.max_outgoing_bytes_per_client)', (s) => ({ all: s.deliveries.deferredSlowSubscriber }));
  mirrored('weir_mqtt_acl_denied_total', 'PUBLISHes and SUBSCRIBEs the ACL refused', (s) => ({ all: s.connections.aclDenied }));
  // MQTT state in LMDB (mqtt.persistence: lmdb): how full the caps are, and what they dropped.
  new Gauge({
    name: 'weir_mqtt_state', help: 'MQTT state kept in LMDB: retained messages, persistent sessions, their subscriptions, queued QoS 1/2 messages', labelNames: ['kind'], registers: [registry],
    collect() {
      const p = stats().persistence;
      if (p === undefined) return;
      this.set({ kind: 'retained' }, p.retained);
      this.set({ kind: 'sessions' }, p.sessions);
      this.set({ kind: 'subscriptions' }, p.subscriptions);
      this.set({ kind: 'queued' }, p.queued);
      this.set({ kind: 'queued_bytes' }, p.queuedBytes);
    },
  });
  mirrored('weir_mqtt_queue_dropped_total', 'QoS 1/2 messages of persistent sessions dropped: count = the oldest queued one, past mqtt.max_queued_messages or mqtt.max_queued_messages_total; bytes = a new one not queued for offline sessions, past mqtt.max_queued_bytes', (s) => ({
    count: s.persistence?.queueDropped ?? 0,
    bytes: s.persistence?.queueDroppedBytesCap ?? 0,
  }), 'cap');
}
