/**
 * What the producer knows of the upstream cluster: for each topic it sends to, the partition
 * count and each partition's leader, from Metadata requests. A refresh is asked for when a topic
 * is new, when a send says the leader moved, and every METADATA_MAX_AGE_MS (Kafka's
 * metadata.max.age.ms is 5 minutes; librdkafka's topic.metadata.refresh.interval.ms, which the
 * mirror set to a minute, is the figure kept). One refresh runs at a time.
 */
import { ApiKey } from '../../../src/kafka/protocol/api-keys.js';
import type { MetadataResponse } from '../../../src/kafka/protocol/apis/metadata.js';
import type { BrokerConnection } from './connection.js';
import { METADATA_VERSIONS, readMetadataResponse, writeMetadataRequest } from './requests.js';

export const METADATA_MAX_AGE_MS = 60_000;
/** Topic errors that mean "not yet": an auto-created topic, an election under way. */
/** The least time between two refreshes (librdkafka's topic.metadata.refresh.fast.interval.ms). */
const MIN_REFRESH_INTERVAL_MS = 250;
const TRANSIENT_TOPIC_ERRORS = new Set([3 /* UNKNOWN_TOPIC_OR_PARTITION */, 5 /* LEADER_NOT_AVAILABLE */]);

export interface TopicMetadata {
  /** 0 while the topic is not there (yet). */
  readonly partitions: number;
  /** Leader node id per partition, -1 when it has none. */
  readonly leaders: readonly number[];
  /** A topic error that will not go away by waiting (e.g. 29 TOPIC_AUTHORIZATION_FAILED), else 0. */
  readonly errorCode: number;
}

export class ClusterMetadata {
  readonly topics = new Map<string, TopicMetadata>();
  private readonly wanted = new Set<string>();
  private refreshedAt = 0;
  private stale = true;
  private inFlight = false;

  /** A topic the producer sends to: metadata is fetched for it with the next refresh. */
  want(topic: string): void {
    if (this.wanted.has(topic)) return;
    this.wanted.add(topic);
    this.stale = true;
  }

  /** A send said the leader moved or the topic is not there yet: refresh soon. */
  markStale(): void {
    this.stale = true;
  }

  /** Whether a refresh is due now (and none is under way). */
  due(now: number): boolean {
    if (this.inFlight || this.wanted.size === 0 || now - this.refreshedAt < MIN_REFRESH_INTERVAL_MS) return false;
    return this.stale || now - this.refreshedAt >= METADATA_MAX_AGE_MS;
  }

  /**
   * Fetches metadata for every wanted topic over `conn`. Resolves with the brokers it names (the
   * caller connects to them); rejects with the connection's error, leaving the metadata stale.
   */
  async refresh(conn: BrokerConnection, now: number): Promise<MetadataResponse['brokers']> {
    const version = conn.version(ApiKey.Metadata, METADATA_VERSIONS.min, METADATA_VERSIONS.max);
    if (version === undefined) throw new Error(`the upstream serves no Metadata version from ${METADATA_VERSIONS.min} to ${METADATA_VERSIONS.max} (Kafka 0.11 or later is needed)`);
    this.inFlight = true;
    this.stale = false;
    this.refreshedAt = now;
    try {
      const topics = [...this.wanted];
      const res = await conn.request(ApiKey.Metadata, version, (w) => writeMetadataRequest(w, version, topics), (r) => readMetadataResponse(r, version));
      for (const t of res.topics) {
        if (!this.wanted.has(t.name)) continue;
        const transient = TRANSIENT_TOPIC_ERRORS.has(t.errorCode);
        if (t.errorCode !== 0) {
          this.topics.set(t.name, { partitions: 0, leaders: [], errorCode: transient ? 0 : t.errorCode });
          if (transient) this.stale = true;
          continue;
        }
        const leaders = new Array<number>(t.partitions.length).fill(-1);
        for (const p of t.partitions) if (p.partitionIndex < leaders.length) leaders[p.partitionIndex] = p.errorCode === 0 || p.errorCode === 9 /* REPLICA_NOT_AVAILABLE */ ? p.leaderId : -1;
        if (leaders.includes(-1)) this.stale = true;
        this.topics.set(t.name, { partitions: leaders.length, leaders, errorCode: 0 });
      }
      return res.brokers;
    } catch (err) {
      this.stale = true;
      throw err;
    } finally {
      this.inFlight = false;
    }
  }
}
