/**
 * Where a rule's pumps hand records: the client that sends them upstream. Two exist, chosen by the
 * rule's `client`: librdkafka's producer (one call into the binding a record, its headers
 * converted by the binding) and Weir's own producer (wire/producer.ts: records written straight
 * into the outgoing batch).
 */
import type { DecodedRecord } from '../../src/kafka/protocol/record-batch.js';
import type { Producer } from './client.js';
import { headersWithOrigin, type RecordOrigin } from './origin.js';
import type { SentRecord } from './partition.js';
import type { WireProducer } from './wire/producer.js';

export interface RecordSink {
  /** Whether a record for `upstreamTopic` can be handed over now (partitioning by key needs the partition count). */
  ready(upstreamTopic: string, partition: number): boolean;
  /** Hands one record over, `entry` coming back in its report; throws when the client refuses it outright. */
  send(upstreamTopic: string, partition: number, r: DecodedRecord, origin: RecordOrigin, entry: SentRecord): void;
  /** Sends what is batched now, without waiting for linger (one record, one round trip). */
  flush(): void;
}

/** A record's size as the window counts it: key, value and its own headers, before the origin. */
export function recordBytes(r: DecodedRecord): number {
  let bytes = (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const h of r.headers) bytes += h.key.length + (h.value?.length ?? 0);
  return bytes;
}

export class LibrdkafkaSink implements RecordSink {
  constructor(private readonly producer: Producer) {}

  ready(): boolean {
    return true;
  }

  send(upstreamTopic: string, partition: number, r: DecodedRecord, origin: RecordOrigin, entry: SentRecord): void {
    // Key and value are views into the stored batch: the binding has librdkafka copy them
    // (RK_MSG_COPY) before produce returns, so no copy of ours is needed.
    this.producer.produce(upstreamTopic, partition, r.value, r.key, r.timestamp, entry, headersWithOrigin(r, origin).headers);
  }

  flush(): void {
    this.producer.flush(10_000, () => undefined);
  }
}

export class WireSink implements RecordSink {
  constructor(private readonly producer: WireProducer) {}

  ready(upstreamTopic: string, partition: number): boolean {
    return partition >= 0 || this.producer.knows(upstreamTopic);
  }

  send(upstreamTopic: string, partition: number, r: DecodedRecord, origin: RecordOrigin, entry: SentRecord): void {
    this.producer.append(upstreamTopic, partition, r, entry.bytes, origin.bytes, r.offset, entry);
  }

  flush(): void {
    this.producer.flush();
  }
}
