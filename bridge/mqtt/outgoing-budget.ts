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
 *
 * Muting. Even a dropped delivery costs aedes work before it reaches this hook (a `Packet` copy
 * per subscription, then a `setImmediate` for its callback), and a subscriber to `#` that does
 * not read meets the hook on every message published: that churn is what a non-reading subscriber
 * costs everyone else. So a drop also mutes the connection until its socket drains (or closes):
 * the message bus (LocalEmitter) learns, right after the listener call in which the drop happened,
 * that this listener belongs to a muted connection, and while the mute lasts it skips the listener
 * for every message the hook would drop anyway, counting each as a drop here. Only a drop that
 * loses nothing more by being skipped mutes: to a clean session, or of a QoS 0 message (and a
 * muted persistent session still gets its QoS 1/2 messages through aedes, to its queue). And only
 * a socket whose stream has promised a 'drain' (`writableNeedDrain`) is muted: under a budget
 * below the stream's highWaterMark none may come, and the mute would never end.
 */
import type { AedesOptions, Client } from 'aedes';
import type { Writable } from 'node:stream';
import type { Logger } from '../../src/logger.js';
import type { ListenerMute, MuteSource } from './local-emitter.js';
import { WarnLimiter } from './warn-limiter.js';

type AuthorizeForward = NonNullable<AedesOptions['authorizeForward']>;

export class DeliveryStats {
  /** Deliveries dropped because the connection had more than its budget unsent. */
  droppedSlowSubscriber = 0;
  /** QoS 1/2 deliveries to persistent sessions left in the session's queue for the same reason. */
  deferredSlowSubscriber = 0;
}

const SKIPS_PER_WARNING = 256;

const WARNING = 'subscriber not reading: deliveries past mqtt.max_outgoing_bytes_per_client are dropped (QoS 0, clean sessions) or left in the session queue';

export class OutgoingBudget implements MuteSource {
  private readonly warning: WarnLimiter;
  /** Bytes allowed per connection in this turn, not yet in its socket's `writableLength`. */
  private readonly allowed = new Map<Client, number>();
  private readonly forget = (): void => this.allowed.clear();
  /** Connections muted now, until their socket drains or closes. */
  private readonly mutes = new Map<Client, ConnectionMute>();
  /** The mute a drop applied since the bus last asked (`takeMute`). */
  private lastMute: ConnectionMute | undefined;
  private skipsUnwarned = 0;

  /**
   * @param queuesOnDisk the LMDB persistence, which keeps a declined QoS 1/2 delivery queued;
   *   aedes's in-memory one (`mqtt.persistence: memory`) drops a queued message instead
   */
  constructor(private readonly maxBytes: number, private readonly queuesOnDisk: boolean, private readonly stats: DeliveryStats, log: Logger) {
    this.warning = new WarnLimiter(log);
  }

  /** aedes's `authorizeForward`: the packet to write, or null to not write it. */
  readonly authorizeForward: AuthorizeForward = (client, packet) => {
    // A queued message replayed to a persistent session as it connects (aedes
    // lib/handlers/connect.js `emptyQueue`) already has its packet id when aedes asks, and aedes
    // clears a refused one from the queue: a refusal here would lose it. The replay is paced by
    // the socket anyway, one message after the socket took the one before (lib/write.js waits
    // for 'drain'), so it is let through. A live delivery is asked about before it gets an id.
    if (packet.qos > 0 && packet.messageId !== undefined) return packet;
    const thisTurn = this.allowed.get(client) ?? 0;
    const socket = client.conn as unknown as Writable;
    if (socket.writableLength + thisTurn <= this.maxBytes) {
      if (this.allowed.size === 0) setImmediate(this.forget);
      // Fixed header (≤ 5), topic length (2), packet id (2): close enough to the wire size.
      this.allowed.set(client, thisTurn + packet.topic.length + packet.payload.length + 9);
      return packet;
    }
    const keptQueued = this.queuesOnDisk && packet.qos > 0 && !client.clean;
    if (keptQueued) this.stats.deferredSlowSubscriber++;
    else this.stats.droppedSlowSubscriber++;
    this.warn(client, thisTurn);
    if (!keptQueued && (client.clean || packet.qos === 0) && socket.writableNeedDrain) this.lastMute = this.mute(client, socket);
    return null;
  };

  takeMute(): ListenerMute | undefined {
    const mute = this.lastMute;
    this.lastMute = undefined;
    return mute;
  }

  /**
   * A delivery the bus skipped for a muted connection: a drop like any other. The warning limiter
   * reads the clock, so it is asked once per `SKIPS_PER_WARNING` skips (the others are counted as
   * not logged): a muted subscriber to `#` is skipped for every message published.
   */
  skipped(client: Client): void {
    this.stats.droppedSlowSubscriber++;
    if (++this.skipsUnwarned < SKIPS_PER_WARNING) return;
    this.warning.countSuppressed(this.skipsUnwarned - 1);
    this.skipsUnwarned = 0;
    this.warn(client, 0);
  }

  private warn(client: Client, thisTurn: number): void {
    // The fields are built only for a line that is logged: this runs once per dropped delivery.
    if (this.warning.quiet) {
      this.warning.countSuppressed();
      return;
    }
    const buffered = (client.conn as unknown as Writable).writableLength + thisTurn;
    const { droppedSlowSubscriber: dropped, deferredSlowSubscriber: keptQueued } = this.stats;
    this.warning.warn({ clientId: client.id, buffered, maxBytes: this.maxBytes, dropped, keptQueued }, WARNING);
  }

  private mute(client: Client, socket: Writable): ConnectionMute {
    const current = this.mutes.get(client);
    if (current !== undefined) return current;
    const mute = new ConnectionMute(this, client);
    this.mutes.set(client, mute);
    const end = (): void => {
      mute.active = false;
      this.mutes.delete(client);
      socket.off('drain', end);
      socket.off('close', end);
    };
    socket.once('drain', end);
    socket.once('close', end);
    return mute;
  }
}

/** One connection's mute, shared by the bus's listeners of that connection's subscriptions. */
class ConnectionMute implements ListenerMute {
  active = true;

  constructor(private readonly budget: OutgoingBudget, private readonly client: Client) {}

  passesOver(message: { topic: string; qos?: number; clientId?: string }): boolean {
    // What the hook would not simply drop goes through aedes as before: a QoS 1/2 message to a
    // persistent session (kept queued); a `$` topic, which a subscription starting with a wildcard
    // never receives [MQTT-4.7.2-1]; the client's own message, which a no-local subscription
    // never receives [MQTT-3.8.3-3]. These two are no drops to count.
    if ((message.qos ?? 0) > 0 && !this.client.clean) return false;
    if (message.topic.charCodeAt(0) === 36 || message.clientId === this.client.id) return false;
    this.budget.skipped(this.client);
    return true;
  }
}
