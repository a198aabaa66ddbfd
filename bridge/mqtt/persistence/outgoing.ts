/**
 * Queued QoS 1/2 messages for persistent sessions [MQTT-3.1.2-5]: each queue entry on disk under a
 * global sequence number (queue order), holding the packet without its payload and a reference
 * to the payload, stored once however many sessions queue the message (['p', content id], the
 * content id being the message's aedes broker id and counter); in memory only a small index
 * entry per queued packet (ids and the sequence) and a reference count per stored payload, never a
 * payload. 20 sessions queueing a 256 KiB message cost 256 KiB on disk, not 5 MiB.
 *
 * Caps, with an explicit policy when full (oldest first: on a gateway the newest readings are
 * the ones worth keeping):
 *  - `maxPerClient`: a client whose queue is full loses its oldest queued message;
 *  - `maxTotal`: when every queue together is full, the oldest message of the longest queue goes.
 *  - `maxBytes` (mosquitto's `max_queued_bytes`, here for all sessions together): the payload
 *    bytes stored for queues; a new message that would go past it is not queued for the sessions
 *    that are offline (connected ones still get it queued, and delivered at once).
 * Every drop is counted and logged (rate-limited). A dropped message that was already sent and
 * awaits its PUBACK is simply not resent after a reconnect.
 *
 * Entries written before payloads were shared hold their payload inline, and are read as such.
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
  /** Content id of the stored payload this entry holds a reference to; none for a PUBREL. */
  content: string | undefined;
  brokerId: string | undefined;
  brokerCounter: number | undefined;
  messageId: number | undefined;
  replacement?: Record<string, unknown>;
}

export interface OutgoingCaps {
  maxPerClient: number;
  maxTotal: number;
  /** Payload bytes stored for all queues together. */
  maxBytes: number;
}

/** What the queue on disk holds per entry. */
interface StoredEntry {
  clientId: string;
  packet: OutgoingPacket;
  /** Reference to ['p', content] (absent: payload inline, or a PUBREL). */
  content?: string;
}

interface StoredPayload {
  refs: number;
  bytes: number;
}

export class OutgoingQueues {
  private readonly queues = new Map<string, Entry[]>();
  private nextSeq = 1;
  private total = 0;
  /** Stored payloads by content id: references from queue entries, and size. */
  private readonly payloads = new Map<string, StoredPayload>();
  private payloadBytes = 0;
  /** Content ids for packets without a broker id and counter. */
  private nextContent = 1;
  dropped = 0;
  /** Messages × offline sessions not queued because of `maxBytes`. */
  droppedBytesCap = 0;
  private readonly warning: WarnLimiter;
  private readonly bytesWarning: WarnLimiter;

  /** @param isConnected whether a session's client is connected now (the bytes cap spares it) */
  constructor(
    private readonly kv: KvNamespace,
    private readonly caps: OutgoingCaps,
    private readonly log: Logger,
    private readonly isConnected: (clientId: string) => boolean = () => false,
  ) {
    this.warning = new WarnLimiter(log);
    this.bytesWarning = new WarnLimiter(log);
    for (const { key, value } of kv.getRange(['o'])) {
      const { clientId, packet, content } = value as StoredEntry;
      const seq = key[2] as number;
      const entry = entryOf(seq, packet, content);
      if (packet.cmd !== undefined && packet.cmd !== 'publish') entry.replacement = packet;
      this.queueOf(clientId).push(entry);
      this.total++;
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
      if (content !== undefined) {
        const stored = this.payloads.get(content);
        if (stored !== undefined) stored.refs++;
        else this.payloads.set(content, { refs: 1, bytes: 0 });
      }
    }
    // Sizes of the referenced payloads; payloads nothing references (a crash between writes) go.
    for (const { key, value } of kv.getRange(['p'])) {
      const content = key[1] as string;
      const stored = this.payloads.get(content);
      if (stored === undefined) {
        background(kv.remove(key), log, 'removing an unreferenced queued payload');
        continue;
      }
      stored.bytes = payloadSize((value as { payload: Buffer | string }).payload);
      this.payloadBytes += stored.bytes;
    }
  }

  get size(): number {
    return this.total;
  }

  /** Payload bytes stored for the queues. */
  get bytes(): number {
    return this.payloadBytes;
  }

  /** Queues `packet` for each client, its payload stored once; resolves once on disk. */
  async enqueue(clientIds: readonly string[], packet: OutgoingPacket & { payload?: Buffer | string }): Promise<void> {
    const content = contentId(packet) ?? `#${this.nextContent++}`;
    const size = payloadSize(packet.payload);
    let stored = this.payloads.get(content);
    let targets = clientIds;
    if (stored === undefined && this.payloadBytes + size > this.caps.maxBytes) {
      targets = clientIds.filter((clientId) => this.isConnected(clientId));
      const refused = clientIds.length - targets.length;
      if (refused > 0) {
        this.droppedBytesCap += refused;
        this.bytesWarning.warn(
          { topic: packet['topic'], bytes: this.payloadBytes, maxBytes: this.caps.maxBytes, dropped: this.droppedBytesCap },
          'offline queues full (mqtt.max_queued_bytes): a QoS 1/2 message was not queued for offline sessions',
        );
      }
      if (targets.length === 0) return;
    }
    const writes: Promise<void>[] = [];
    if (stored === undefined) {
      stored = { refs: 0, bytes: size };
      this.payloads.set(content, stored);
      this.payloadBytes += size;
      writes.push(this.kv.put(['p', content], { payload: packet.payload ?? Buffer.alloc(0) }));
    }
    const queued = new Packet(packet);
    const record = withoutPayload(queued);
    // Held while the caps drop older entries, which may reference this same payload.
    stored.refs++;
    for (const clientId of targets) {
      const queue = this.queueOf(clientId);
      if (queue.length >= this.caps.maxPerClient) this.drop(clientId, queue, 'mqtt.max_queued_messages');
      else if (this.total >= this.caps.maxTotal) this.dropFromLongest(clientId);
      const seq = this.nextSeq++;
      queue.push(entryOf(seq, queued, content));
      stored.refs++;
      this.total++;
      writes.push(this.kv.put(['o', keyPart(clientId), seq], { clientId, packet: record, content } satisfies StoredEntry));
    }
    stored.refs--;
    await Promise.all(writes);
  }

  /**
   * The packet id aedes gave a queued message, or a PUBREL replacing it (QoS 2, after PUBREC).
   * Matched as aedes-persistence does: by (brokerId, brokerCounter), else by packet id.
   *
   * An id another entry of the session still holds is replaced, in `packet` itself (aedes writes
   * that object once this returns), by one no entry holds [MQTT-2.3.1-4]. Each aedes client object
   * counts packet ids on its own from a random start, while the session's queue keeps the ids a
   * previous connection gave (a replay resends them as they are [MQTT-4.4.0-1]): after a takeover
   * [MQTT-3.1.4-2] the new connection may give a message an id a not yet replayed one holds, and
   * `clear` (PUBACK) then forgets whichever of the two comes first: maybe the one not delivered.
   */
  update(clientId: string, packet: OutgoingPacket): void {
    const queue = this.queues.get(clientId) ?? [];
    for (const entry of queue) {
      if (entry.brokerId === packet.brokerId) {
        if (entry.brokerCounter !== packet.brokerCounter) continue; // packet ids wrap at 65535
        if (packet.messageId !== undefined && packet.messageId !== entry.messageId) packet.messageId = unusedPacketId(queue, packet.messageId);
        entry.messageId = packet.messageId;
        const stored = this.readStored(clientId, entry);
        if (stored !== undefined) {
          stored.packet.messageId = packet.messageId;
          this.write(clientId, entry.seq, stored, 'recording a packet id');
        }
        return;
      }
      if (entry.messageId === packet.messageId) {
        // A PUBREL replaces the PUBLISH: the payload is no longer needed by this entry.
        const replacement = plain(packet);
        this.release(entry.content);
        Object.assign(entry, entryOf(entry.seq, packet, undefined), { replacement });
        this.write(clientId, entry.seq, { clientId, packet: replacement }, 'recording a PUBREL');
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
    this.forget(clientId, entry, 'forgetting an acknowledged message');
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

  private readStored(clientId: string, entry: Entry): StoredEntry | undefined {
    return this.kv.get(['o', keyPart(clientId), entry.seq]) as StoredEntry | undefined;
  }

  /** The queued packet with its payload, as aedes gave it. */
  private read(clientId: string, entry: Entry): OutgoingPacket | undefined {
    if (entry.replacement !== undefined) return { ...entry.replacement };
    const stored = this.readStored(clientId, entry)?.packet;
    if (stored === undefined) return undefined;
    if (entry.content !== undefined) {
      const payload = (this.kv.get(['p', entry.content]) as { payload: Buffer | string } | undefined)?.payload;
      if (payload === undefined) return undefined;
      stored['payload'] = payload;
    }
    if ('messageId' in stored || entry.messageId !== undefined) stored.messageId = entry.messageId;
    return stored;
  }

  private write(clientId: string, seq: number, record: StoredEntry, what: string): void {
    background(this.kv.put(['o', keyPart(clientId), seq], record), this.log, what);
  }

  /** Removes a queue entry from disk and drops its payload reference. */
  private forget(clientId: string, entry: Entry, what: string): void {
    background(this.kv.remove(['o', keyPart(clientId), entry.seq]), this.log, what);
    this.release(entry.content);
  }

  /** One reference fewer to a stored payload; the last one removes it. */
  private release(content: string | undefined): void {
    if (content === undefined) return;
    const stored = this.payloads.get(content);
    if (stored === undefined) return;
    if (--stored.refs > 0) return;
    this.payloads.delete(content);
    this.payloadBytes -= stored.bytes;
    background(this.kv.remove(['p', content]), this.log, 'removing a queued payload');
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
    this.forget(clientId, entry, 'dropping a queued message');
    this.warning.warn({ clientId, cap, dropped: this.dropped }, `offline queue full (${cap}): dropped the oldest queued message`);
  }
}

function entryOf(seq: number, packet: OutgoingPacket, content: string | undefined): Entry {
  return { seq, content, brokerId: packet.brokerId, brokerCounter: packet.brokerCounter, messageId: packet.messageId };
}

/** `wanted` if no entry of `queue` holds it, else the next packet id (1..65535) none holds. */
function unusedPacketId(queue: readonly Entry[], wanted: number): number {
  if (!queue.some((e) => e.messageId === wanted)) return wanted;
  const held = new Set(queue.map((e) => e.messageId));
  let id = wanted;
  while (held.has(id)) id = id >= 65535 ? 1 : id + 1;
  return id;
}

/**
 * The same message queued for several sessions carries one aedes broker id and counter (aedes
 * stamps them once per publish); a packet without them gets an id of its own.
 */
function contentId(packet: OutgoingPacket): string | undefined {
  if (packet.brokerId === undefined || packet.brokerCounter === undefined) return undefined;
  return `${packet.brokerId}:${packet.brokerCounter}`;
}

function payloadSize(payload: Buffer | string | undefined): number {
  if (payload === undefined) return 0;
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
}

/** The packet as a queue entry stores it: its own fields but the payload. */
function withoutPayload(packet: object): OutgoingPacket {
  const { payload: _payload, ...rest } = plain(packet);
  return rest;
}
