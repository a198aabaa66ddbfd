/**
 * aedes keeps retained messages in memory, one per topic, so their number is capped
 * (`mqtt.max_retained_messages`): past the cap a retained PUBLISH on a new topic is still appended
 * and delivered, but not retained. A zero-length retained payload deletes the topic's retained
 * message [MQTT-3.3.1-10].
 */
import type { Client, PublishPacket } from 'aedes';
import type { Logger } from '../../src/logger.js';
import type { IngestStats } from './stats.js';
import { WarnLimiter } from './warn-limiter.js';

export class RetainedCap {
  private readonly topics = new Set<string>();
  /** Retained PUBLISHes stripped of their flag by the cap: the record still says they were retained. */
  private readonly stripped = new WeakSet<PublishPacket>();
  private readonly warning: WarnLimiter;

  constructor(
    private readonly maxRetained: number,
    private readonly stats: IngestStats,
    log: Logger,
  ) {
    this.warning = new WarnLimiter(log);
  }

  /** Topics whose retained message survived a restart: they count toward the cap. */
  seed(topics: Iterable<string>): void {
    for (const topic of topics) this.topics.add(topic);
  }

  /** Whether the client sent the PUBLISH retained, even if the cap stripped the flag. */
  wasRetained(packet: PublishPacket): boolean {
    return packet.retain || this.stripped.has(packet);
  }

  /** Clears the packet's retain flag when keeping it would pass the cap. */
  limit(client: Client, packet: PublishPacket): void {
    if (!packet.retain) return;
    if (packet.payload.length === 0) {
      this.topics.delete(packet.topic);
      return;
    }
    if (this.topics.has(packet.topic)) return;
    if (this.topics.size < this.maxRetained) {
      this.topics.add(packet.topic);
      return;
    }
    this.stats.retainRefused++;
    this.warning.warn({ clientId: client.id, topic: packet.topic, maxRetained: this.maxRetained, refused: this.stats.retainRefused }, 'not retaining the message: mqtt.max_retained_messages reached');
    packet.retain = false;
    this.stripped.add(packet);
  }
}
