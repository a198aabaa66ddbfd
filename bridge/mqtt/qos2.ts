/**
 * QoS 2 exactly once on the way in [MQTT-4.3.3-2]: a retransmitted PUBLISH (DUP set, same packet
 * id, not yet released by PUBREL) is the message already taken, answered once its first copy is
 * durable, and appended no second time.
 */
import type { Client } from 'aedes';
import type { InFlightPublish } from './ack-order.js';
import type { IngestStats } from './stats.js';

export interface Qos2Ingest {
  readonly stats: IngestStats;
  /** Whether aedes's incoming store holds this QoS 2 packet id (a persistent session's). */
  incomingStored(client: Client, messageId: number): Promise<boolean>;
  /** Appends the message; it reports to its `afterAppend`. */
  appendOne(message: InFlightPublish): void;
}

/** Appends a QoS 2 PUBLISH unless it is a copy of one appended and not yet released. */
export async function appendQos2Once(ingest: Qos2Ingest, message: InFlightPublish, messageId: number): Promise<void> {
  const { client, state, packet } = message;
  const earlier = state.qos2.get(messageId);
  if (earlier !== undefined && packet.dup) {
    ingest.stats.duplicates++;
    await earlier;
    return;
  }
  // A DUP of a persistent session's message from an earlier connection: aedes still holds
  // it, unreleased, so it was appended then.
  if (earlier === undefined && packet.dup && (await ingest.incomingStored(client, messageId))) {
    ingest.stats.duplicates++;
    return;
  }
  const appended = new Promise<void>((resolve, reject) => {
    message.afterAppend = (err) => (err === null ? resolve() : reject(err));
    ingest.appendOne(message);
  });
  state.qos2.set(messageId, appended);
  try {
    await appended;
  } catch (err) {
    state.qos2.delete(messageId);
    throw err;
  } finally {
    message.afterAppend = undefined;
  }
}
