/**
 * What log record an MQTT PUBLISH becomes: the mapping rule's topic and key, the payload as the
 * value, receive time as the timestamp, and the `mqtt.*` headers (topic, QoS, client id, username,
 * retain, then the rule's captures and extra headers).
 *
 * This runs for every message, so what does not change per message is made once and shared: the
 * QoS and retain headers, a connection's client-id header, and the UTF-8 bytes of recently seen
 * topics (sensors publish to the same few topics over and over; the `mqtt.topic` header and a
 * `{mqtt.topic}` key reuse one Buffer). The encoder only reads them.
 */
import type { PublishPacket } from 'aedes';
import type { RecordInput } from '../../src/kafka/protocol/record-batch.js';
import type { RecordHeader } from '../../src/kafka/protocol/records.js';
import type { Mapper } from './mapping.js';

const QOS_HEADERS: readonly RecordHeader[] = ['0', '1', '2'].map((q) => ({ key: 'mqtt.qos', value: Buffer.from(q) }));
const RETAIN_HEADER: RecordHeader = { key: 'mqtt.retain', value: Buffer.from('1') };
/** Bounded in entries and in entry size (a topic may be 64 KiB long): at most ~1.5 MB, emptied when full. */
const TOPIC_BYTES_CACHE_MAX = 2048;
const TOPIC_BYTES_CACHED_MAX_LENGTH = 256;

/** Who sent a PUBLISH, as the record's headers name them. */
export interface Publisher {
  clientId: string;
  /** Made once per connection with `clientIdHeader`. */
  clientIdHeader: RecordHeader;
  username: string | undefined;
}

export function clientIdHeader(clientId: string): RecordHeader {
  return { key: 'mqtt.client_id', value: Buffer.from(clientId, 'utf8') };
}

export class PublishRecords {
  private readonly topicBytes = new Map<string, Buffer>();

  constructor(private readonly mapper: Mapper) {}

  /**
   * The log topic and record, or undefined when no rule maps the topic. `retained` says whether
   * the PUBLISH had the retain flag (also when the retained-message cap stripped it).
   */
  make(packet: PublishPacket, from: Publisher, retained: boolean, receivedAt: number): { topic: string; record: RecordInput } | undefined {
    const topicBytes = this.bytesOfTopic(packet.topic);
    const mapped = this.mapper.map({ topic: packet.topic, topicBytes, clientId: from.clientId, username: from.username });
    if (mapped === undefined) return undefined;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload, 'utf8') : packet.payload;
    const headers: RecordHeader[] = [
      { key: 'mqtt.topic', value: topicBytes },
      QOS_HEADERS[packet.qos] ?? { key: 'mqtt.qos', value: Buffer.from(String(packet.qos)) },
      from.clientIdHeader,
    ];
    if (from.username !== undefined) headers.push({ key: 'mqtt.username', value: Buffer.from(from.username, 'utf8') });
    if (retained) headers.push(RETAIN_HEADER);
    for (const h of mapped.headers) headers.push(h);
    return { topic: mapped.topic, record: { key: mapped.key, value: payload, headers, timestamp: receivedAt } };
  }

  private bytesOfTopic(topic: string): Buffer {
    if (topic.length > TOPIC_BYTES_CACHED_MAX_LENGTH) return Buffer.from(topic, 'utf8');
    let bytes = this.topicBytes.get(topic);
    if (bytes === undefined) {
      if (this.topicBytes.size >= TOPIC_BYTES_CACHE_MAX) this.topicBytes.clear();
      bytes = Buffer.from(topic, 'utf8');
      this.topicBytes.set(topic, bytes);
    }
    return bytes;
  }
}
