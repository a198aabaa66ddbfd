/**
 * Where a rule's pumps hand records: the client that sends them upstream. Two exist, chosen by the
 * rule's `client`: librdkafka's producer (one call into the binding a record, its headers
 * converted by the binding) and Weir's own producer (wire/producer.ts: records written straight
 * into the outgoing batch).
 */
import type { Producer } from './client.js';
import { headersWithOrigin, type RecordOrigin } from './origin.js';
import type { SentRecord } from './partition.js';
import type { StoredRecords } from './stored-records.js';
import type { WireProducer } from './wire/producer.js';

export interface RecordSink {
  /** Whether a record for `upstreamTopic` can be handed over now (partitioning by key needs the partition count). */
  ready(upstreamTopic: string, partition: number): boolean;
  /** Hands over the record `r` is at, `entry` coming back in its report; throws when the client refuses it outright. */
  send(upstreamTopic: string, partition: number, r: StoredRecords, origin: RecordOrigin, entry: SentRecord): void;
  /** Sends what is batched now, without waiting for linger (one record, one round trip). */
  flush(): void;
}

export class LibrdkafkaSink implements RecordSink {
  constructor(private readonly producer: Producer) {}

  ready(): boolean {
    return true;
  }

  send(upstreamTopic: string, partition: number, stored: StoredRecords, origin: RecordOrigin, entry: SentRecord): void {
    // Key and value are views into the stored batch: the binding has librdkafka copy them
    // (RK_MSG_COPY) before produce returns, so no copy of ours is needed.
    const r = stored.decoded();
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

  send(upstreamTopic: string, partition: number, r: StoredRecords, origin: RecordOrigin, entry: SentRecord): void {
    this.producer.appendStored(upstreamTopic, partition, r, origin.bytes, entry);
  }

  flush(): void {
    this.producer.flush();
  }
}
