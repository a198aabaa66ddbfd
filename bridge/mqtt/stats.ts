/** Counters of the MQTT bridge: read by tests and, later, by the admin HTTP metrics. */
import type { DeliveryStats } from './outgoing-budget.js';
import type { PersistenceStats } from './persistence/index.js';

export class IngestStats {
  /** PUBLISH packets that reached the mapping step, by QoS. */
  readonly received: [number, number, number] = [0, 0, 0];
  /** Records durably appended. */
  appended = 0;
  /** QoS 2 retransmissions answered without a second append [MQTT-4.3.3-2]. */
  duplicates = 0;
  /**
   * Messages no rule could map, acknowledged and discarded: unmatched under `mqtt.unmatched:
   * drop`, and under `store` the few the default rule cannot take either (topics starting with
   * `$` [MQTT-4.7.2-1], or a rendered log topic name that is still illegal).
   */
  unmatchedDropped = 0;
  /** Append attempts that failed retriably and were retried with the ack withheld. */
  retries = 0;
  /** Publishes that waited for a free in-flight slot of their client. */
  inflightWaits = 0;
  /** Retained PUBLISHes appended but not retained, because mqtt.max_retained_messages was reached. */
  retainRefused = 0;
  /** Publishes refused (the client was disconnected), by reason or WeirError code. */
  readonly refused = new Map<string, number>();
}

export interface ConnectionStats {
  /** Connections open now. */
  open: number;
  accepted: number;
  /** Connections closed at once because `mqtt.max_connections` were open. */
  rejectedMaxConnections: number;
  /** Connections closed for a packet above `mqtt.max_packet_size` or a malformed length. */
  closedOversize: number;
  /** Connections of keep-alive 0 clients closed after `mqtt.idle_timeout_ms` without a byte. */
  closedIdle: number;
  /** Connections closed by aedes for a protocol error (malformed packet, bad CONNECT, …). */
  closedProtocolError: number;
  /** CONNECTs refused: bad username or password, or anonymous where it is not allowed. */
  authFailed: number;
  /** PUBLISHes (client disconnected) and SUBSCRIBEs (SUBACK failure) the ACL refused. */
  aclDenied: number;
  /** TLS connections whose handshake failed (no or untrusted client certificate, bad protocol). */
  tlsHandshakeFailed: number;
}

export interface MqttStats {
  connections: Readonly<ConnectionStats>;
  received: readonly number[];
  appended: number;
  duplicates: number;
  unmatchedDropped: number;
  retries: number;
  inflightWaits: number;
  retainRefused: number;
  /** MQTT state kept in LMDB (`mqtt.persistence: lmdb`); undefined with the in-memory one. */
  persistence: PersistenceStats | undefined;
  refused: Record<string, number>;
  /** Deliveries to subscribers past their outgoing budget. */
  deliveries: Readonly<DeliveryStats>;
}
