/**
 * Refusing a PUBLISH. MQTT 3.1.1 has no negative PUBACK: the refusal is an error handed to aedes,
 * which closes that one connection. Each refusal is counted by reason and logged, rate-limited per
 * reason so a flood of one kind does not hide the first of another.
 */
import type { Client, PublishPacket } from 'aedes';
import type { Logger } from '../../src/logger.js';
import type { IngestStats } from './stats.js';
import { WarnLimiter } from './warn-limiter.js';

/** An error handed to aedes: it closes the client's connection, and we log why once. */
export class RefusedPublish extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
    this.name = 'RefusedPublish';
  }
}

export class Refusals {
  private readonly warnings = new Map<string, WarnLimiter>();

  constructor(
    private readonly stats: IngestStats,
    private readonly log: Logger,
  ) {}

  /** Counts and logs a refused PUBLISH; the returned error, given to aedes, closes the connection. */
  refuse(client: Client, reason: string, message: string, packet: PublishPacket): RefusedPublish {
    this.stats.refused.set(reason, (this.stats.refused.get(reason) ?? 0) + 1);
    let warning = this.warnings.get(reason);
    if (warning === undefined) this.warnings.set(reason, (warning = new WarnLimiter(this.log)));
    warning.warn({ clientId: client.id, topic: packet.topic, qos: packet.qos, reason }, `refusing PUBLISH and disconnecting the client: ${message}`);
    return new RefusedPublish(reason, message);
  }
}
