/**
 * A subscriber that does not read costs only itself: a per-connection budget of bytes waiting in
 * its socket (`mqtt.max_outgoing_bytes_per_client`, mosquitto's `max_queued_bytes` in spirit but
 * per connection). Past it, a delivery to that connection is not written:
 *  - a QoS 0 delivery, and any delivery to a clean session, is dropped and counted;
 *  - a QoS 1/2 delivery to a persistent session (clean=false) stays in the session's queue on
 *    disk (aedes queued it before delivering), to be sent when the client reconnects; the
 *    session's queue caps (`mqtt.max_queued_messages*`) bound it.
 *
 * It is aedes's `authorizeForward` hook, which aedes asks synchronously before each delivery
 * (lib/client.js `getToForwardPacket`): a null answer makes aedes skip the write. For a
 * persistent session aedes then calls `outgoingClearMessageId` with no packet id, which the LMDB
 * persistence takes as "keep it queued" (persistence/index.ts).
 *
 * aedes asks before it writes (the write follows on the next turn of the event loop, or after the
 * persistence has recorded the packet id), and a publisher's whole read chunk, or a group commit's
 * worth of QoS 1 messages, is delivered in one turn: so what counts is the socket's
 * `writableLength` plus what was allowed to the connection earlier in the same turn.
 *
 * The publisher is not held back either: the message bus does not wait for deliveries to finish
 * (LocalEmitter `awaitListeners: false`), so a write waiting for a socket to drain holds nothing
 * but its own bytes, and this budget bounds those.
 */
import type { AedesOptions, Client } from 'aedes';
import type { Writable } from 'node:stream';
import type { Logger } from '../../src/logger.js';
import { WarnLimiter } from './warn-limiter.js';

export class DeliveryStats {
  /** Deliveries dropped because the connection had more than its budget unsent. */
  droppedSlowSubscriber = 0;
  /** QoS 1/2 deliveries to persistent sessions left in the session's queue for the same reason. */
  deferredSlowSubscriber = 0;
}

/**
 * @param queuesOnDisk the LMDB persistence, which keeps a declined QoS 1/2 delivery queued; aedes's
 *   in-memory one (`mqtt.persistence: memory`) drops a queued message instead
 */
export function outgoingBudget(maxBytes: number, queuesOnDisk: boolean, stats: DeliveryStats, log: Logger): NonNullable<AedesOptions['authorizeForward']> {
  const warning = new WarnLimiter(log);
  /** Bytes allowed per connection in this turn, not yet in its socket's `writableLength`. */
  const allowed = new Map<Client, number>();
  const forget = (): void => allowed.clear();
  return (client, packet) => {
    const thisTurn = allowed.get(client) ?? 0;
    const buffered = (client.conn as unknown as Writable).writableLength + thisTurn;
    if (buffered <= maxBytes) {
      if (allowed.size === 0) setImmediate(forget);
      // Fixed header (≤ 5), topic length (2), packet id (2): close enough to the wire size.
      allowed.set(client, thisTurn + packet.topic.length + packet.payload.length + 9);
      return packet;
    }
    const keptQueued = queuesOnDisk && packet.qos > 0 && !client.clean;
    if (keptQueued) stats.deferredSlowSubscriber++;
    else stats.droppedSlowSubscriber++;
    warning.warn(
      { clientId: client.id, buffered, maxBytes, dropped: stats.droppedSlowSubscriber, keptQueued: stats.deferredSlowSubscriber },
      'subscriber not reading: deliveries past mqtt.max_outgoing_bytes_per_client are dropped (QoS 0, clean sessions) or left in the session queue',
    );
    return null;
  };
}
