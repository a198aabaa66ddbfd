/**
 * What log record an MQTT PUBLISH becomes: the mapping rule's topic and key, the payload as the
 * value, receive time as the timestamp, and the `mqtt.*` headers (topic, QoS, client id, username,
 * retain, then the rule's captures and extra headers).
 *
 * This runs for every message, so what does not change per message is made once and shared: the
 * QoS and retain headers, a connection's client-id header, and the `mqtt.topic` header of recently
 * seen topics (sensors publish to the same few topics over and over; a `{mqtt.topic}` key reuses
 * its bytes). The encoder only reads them. The mapper's input is one object, refilled per message
 * (the mapper keeps nothing of it), and the record carries its log topic: no wrapper per message.
 */
import type { PublishPacket } from 'aedes';
import type { RecordInput } from '../../src/kafka/protocol/record-batch.js';
import type { RecordHeader } from '../../src/kafka/protocol/records.js';
import type { Mapper, MappingContext } from './mapping.js';

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

/** A PUBLISH as a log record, with the log topic its mapping rule chose. */
export interface PublishRecord extends RecordInput {
  logTopic: string;
}

export class PublishRecords {
  private readonly topicHeaders = new Map<string, RecordHeader>();
  private readonly context: MappingContext = { topic: '', topicBytes: undefined, clientId: '', username: undefined };

  constructor(private readonly mapper: Mapper) {}

  /**
   * The log topic and record, or undefined when no rule maps the topic. `retained` says whether
   * the PUBLISH had the retain flag (also when the retained-message cap stripped it).
   */
  make(packet: PublishPacket, from: Publisher, retained: boolean, receivedAt: number): PublishRecord | undefined {
    const topicHeader = this.headerOfTopic(packet.topic);
    const context = this.context;
    context.topic = packet.topic;
    context.topicBytes = topicHeader.value!;
    context.clientId = from.clientId;
    context.username = from.username;
    const mapped = this.mapper.map(context);
    if (mapped === undefined) return undefined;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload, 'utf8') : packet.payload;
    const headers: RecordHeader[] = [
      topicHeader,
      QOS_HEADERS[packet.qos] ?? { key: 'mqtt.qos', value: Buffer.from(String(packet.qos)) },
      from.clientIdHeader,
    ];
    if (from.username !== undefined) headers.push({ key: 'mqtt.username', value: Buffer.from(from.username, 'utf8') });
    if (retained) headers.push(RETAIN_HEADER);
    for (const h of mapped.headers) headers.push(h);
    return { logTopic: mapped.topic, key: mapped.key, value: payload, headers, timestamp: receivedAt };
  }

  private headerOfTopic(topic: string): RecordHeader {
    if (topic.length > TOPIC_BYTES_CACHED_MAX_LENGTH) return { key: 'mqtt.topic', value: Buffer.from(topic, 'utf8') };
    let header = this.topicHeaders.get(topic);
    if (header === undefined) {
      if (this.topicHeaders.size >= TOPIC_BYTES_CACHE_MAX) this.topicHeaders.clear();
      header = { key: 'mqtt.topic', value: Buffer.from(topic, 'utf8') };
      this.topicHeaders.set(topic, header);
    }
    return header;
  }
}
