/**
 * Queued QoS 1/2 messages for persistent sessions [MQTT-3.1.2-5]: each packet on disk under a
 * global sequence number (queue order); in memory only a small index entry per packet (ids and
 * the sequence), never a payload.
 *
 * Caps, with an explicit policy when full (oldest first: on a gateway the newest readings are
 * the ones worth keeping):
 *  - `maxPerClient`: a client whose queue is full loses its oldest queued message;
 *  - `maxTotal`: when every queue together is full, the oldest message of the longest queue goes.
 * Every drop is counted and logged (rate-limited). A dropped message that was already sent and
 * awaits its PUBACK is simply not resent after a reconnect.
 */
import { Readable } from 'node:stream';
import type { Logger } from '../../../src/logger.js';
import type { KvNamespace } from '../../../src/store/types.js';
import { WarnLimiter } from '../warn-limiter.js';
import { Packet, background, keyPart, plain } from './keys.js';

export interface OutgoingPacket {
  cmd?: string;
  brokerId?: string | undefined;
  brokerCounter?: number | undefined;
  messageId?: number | undefined;
  [field: string]: unknown;
}

/**
 * What aedes changes after queueing lives here, so reads see it at once while the disk copy is
 * written in the background: the packet id given at delivery, or the PUBREL that replaced the
 * PUBLISH (a few bytes).
 */
interface Entry {
  seq: number;
  brokerId: string | undefined;
  brokerCounter: number | undefined;
  messageId: number | undefined;
  replacement?: Record<string, unknown>;
}

export interface OutgoingCaps {
  maxPerClient: number;
  maxTotal: number;
}

export class OutgoingQueues {
  private readonly queues = new Map<string, Entry[]>();
  private nextSeq = 1;
  private total = 0;
  dropped = 0;
  private readonly warning: WarnLimiter;

  constructor(
    private readonly kv: KvNamespace,
    private readonly caps: OutgoingCaps,
    private readonly log: Logger,
  ) {
    this.warning = new WarnLimiter(log);
    for (const { key, value } of kv.getRange(['o'])) {
      const { clientId, packet } = value as { clientId: string; packet: OutgoingPacket };
      const seq = key[2] as number;
      const entry = entryOf(seq, packet);
      if (packet.cmd !== undefined && packet.cmd !== 'publish') entry.replacement = packet;
      this.queueOf(clientId).push(entry);
      this.total++;
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
    }
  }

  get size(): number {
    return this.total;
  }

  /** Queues `packet` for each client; resolves once on disk. */
  async enqueue(clientIds: readonly string[], packet: OutgoingPacket): Promise<void> {
    const writes: Promise<void>[] = [];
    for (const clientId of clientIds) {
      const queue = this.queueOf(clientId);
      if (queue.length >= this.caps.maxPerClient) this.drop(clientId, queue, 'mqtt.max_queued_messages');
      else if (this.total >= this.caps.maxTotal) this.dropFromLongest(clientId);
      const seq = this.nextSeq++;
      const queued = new Packet(packet);
      queue.push(entryOf(seq, queued));
      this.total++;
      writes.push(this.kv.put(['o', keyPart(clientId), seq], { clientId, packet: plain(queued) }));
    }
    await Promise.all(writes);
  }

  /**
   * The packet id aedes gave a queued message, or a PUBREL replacing it (QoS 2, after PUBREC).
   * Matched as aedes-persistence does: by (brokerId, brokerCounter), else by packet id.
   */
  update(clientId: string, packet: OutgoingPacket): void {
    const queue = this.queues.get(clientId) ?? [];
    for (const entry of queue) {
      if (entry.brokerId === packet.brokerId) {
        if (entry.brokerCounter !== packet.brokerCounter) continue; // packet ids wrap at 65535
        entry.messageId = packet.messageId;
        const stored = this.read(clientId, entry);
        if (stored !== undefined) this.write(clientId, entry.seq, stored, 'recording a packet id');
        return;
      }
      if (entry.messageId === packet.messageId) {
        const replacement = plain(packet);
        Object.assign(entry, entryOf(entry.seq, packet), { replacement });
        this.write(clientId, entry.seq, replacement, 'recording a PUBREL');
        return;
      }
    }
    throw new Error('no such packet');
  }

  /** PUBACK/PUBCOMP: forgets the message with this packet id and hands it back. */
  clear(clientId: string, messageId: number | undefined): OutgoingPacket | undefined {
    const queue = this.queues.get(clientId);
    if (queue === undefined) return undefined;
    const i = queue.findIndex((e) => e.messageId === messageId);
    if (i < 0) return undefined;
    const [entry] = queue.splice(i, 1) as [Entry];
    this.total--;
    if (queue.length === 0) this.queues.delete(clientId);
    const packet = this.read(clientId, entry);
    background(this.kv.remove(['o', keyPart(clientId), entry.seq]), this.log, 'forgetting an acknowledged message');
    return packet;
  }

  /** The client's queue as it is now, read from disk as the stream is consumed. */
  stream(clientId: string): Readable {
    const entries = [...(this.queues.get(clientId) ?? [])];
    const read = (entry: Entry) => this.read(clientId, entry);
    return Readable.from((function* () {
      for (const entry of entries) {
        const packet = read(entry);
        if (packet !== undefined) yield packet;
      }
    })());
  }

  private read(clientId: string, entry: Entry): OutgoingPacket | undefined {
    if (entry.replacement !== undefined) return { ...entry.replacement };
    const stored = (this.kv.get(['o', keyPart(clientId), entry.seq]) as { packet: OutgoingPacket } | undefined)?.packet;
    if (stored === undefined) return undefined;
    if ('messageId' in stored || entry.messageId !== undefined) stored.messageId = entry.messageId;
    return stored;
  }

  private write(clientId: string, seq: number, packet: Record<string, unknown>, what: string): void {
    background(this.kv.put(['o', keyPart(clientId), seq], { clientId, packet }), this.log, what);
  }

  private queueOf(clientId: string): Entry[] {
    let queue = this.queues.get(clientId);
    if (queue === undefined) {
      queue = [];
      this.queues.set(clientId, queue);
    }
    return queue;
  }

  private dropFromLongest(fallback: string): void {
    let longest = fallback;
    let length = this.queues.get(fallback)?.length ?? 0;
    for (const [clientId, queue] of this.queues) {
      if (queue.length > length) {
        longest = clientId;
        length = queue.length;
      }
    }
    const queue = this.queues.get(longest);
    if (queue !== undefined && queue.length > 0) this.drop(longest, queue, 'mqtt.max_queued_messages_total');
  }

  private drop(clientId: string, queue: Entry[], cap: string): void {
    const entry = queue.shift();
    if (entry === undefined) return;
    this.total--;
    this.dropped++;
    background(this.kv.remove(['o', keyPart(clientId), entry.seq]), this.log, 'dropping a queued message');
    this.warning.warn({ clientId, cap, dropped: this.dropped }, `offline queue full (${cap}): dropped the oldest queued message`);
  }
}

function entryOf(seq: number, packet: OutgoingPacket): Entry {
  return { seq, brokerId: packet.brokerId, brokerCounter: packet.brokerCounter, messageId: packet.messageId };
}
