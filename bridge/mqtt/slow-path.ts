/**
 * The slow path of an MQTT append: creates the log topic if needed, waits for an in-flight slot
 * of the client, and retries retriable failures (write queue full, disk budget full under
 * `block`, an I/O hiccup) with the ack withheld: the client waits, which is the back-pressure
 * we want.
 */
import type { Client, PublishPacket } from 'aedes';
import { isWeirError } from '../../src/errors.js';
import type { RecordInput } from '../../src/kafka/protocol/record-batch.js';
import type { Logger } from '../../src/logger.js';
import type { DefaultPartitioner } from '../../src/produce/partitioner.js';
import type { TopicAutoCreator } from '../../src/store/auto-create.js';
import type { RecordLog, TopicAdmin } from '../../src/store/types.js';
import { StopIngest, type ClientState, type InFlightPublish } from './ack-order.js';
import type { Refusals } from './refusals.js';
import type { IngestStats } from './stats.js';

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 1000;

export interface SlowPathDeps {
  store: Pick<RecordLog, 'appendRecords'> & Pick<TopicAdmin, 'hasTopic'>;
  /** The ingest's, shared with the fast path: null keys stick to one partition across both. */
  partitioner: DefaultPartitioner;
  stats: IngestStats;
  log: Logger;
  refusals: Refusals;
  maxInflightPerClient: number;
  /** Undefined when `mqtt.auto_create_topics` is false. */
  topics: TopicAutoCreator | undefined;
  /** True once the ingest drains for shutdown. */
  stopping(): boolean;
}

/** Hands the client's in-flight slot to its next waiter, or frees it. */
export function releaseSlot(state: ClientState): void {
  const next = state.waiters.shift();
  if (next !== undefined) next(); // the slot passes straight to the next waiter
  else state.inflight--;
}

export class SlowPath {
  constructor(private readonly deps: SlowPathDeps) {}

  /** Appends `record` (mapped from the message) to `topic`; `failed` is the fast path's retriable error. */
  async append(message: InFlightPublish, topic: string, record: RecordInput, failed?: unknown): Promise<void> {
    const { state } = message;
    // The client's order [MQTT-4.6.0-5]: this message issues its append only after the client's
    // previous slow-path message issued its own (a topic being created makes the first wait, and
    // the fast path sends the later ones here while any waits: see Ingest.appendOne).
    const previous = state.slowTail;
    let issued!: () => void;
    state.slowTail = new Promise<void>((resolve) => (issued = resolve));
    state.slowPending++;
    try {
      await this.appendInOrder(message, topic, record, failed, previous, issued);
    } finally {
      issued();
      state.slowPending--;
    }
  }

  private async appendInOrder(message: InFlightPublish, topic: string, record: RecordInput, failed: unknown, previous: Promise<void>, issued: () => void): Promise<void> {
    const { client, state, packet } = message;
    const { store, stats } = this.deps;
    if (failed !== undefined) await this.backOff(client, topic, failed, RETRY_MIN_MS);
    await previous;
    if (!store.hasTopic(topic)) await this.ensureTopic(client, topic, packet);
    if (state.inflight < this.deps.maxInflightPerClient) state.inflight++;
    else await this.waitForSlot(state);
    const partition = this.deps.partitioner.partitionFor(topic, record.key ?? null);
    try {
      for (let delay = failed === undefined ? RETRY_MIN_MS : RETRY_MIN_MS * 2; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
        // Not abandoned when the client went away: the PUBLISH was accepted, and a one-shot
        // client (mosquitto_pub, QoS 0) disconnects while its topic is being created or its
        // commit waits for the flush window. Only shutdown stops it (unacked QoS 1/2 is resent).
        if (this.deps.stopping()) throw new StopIngest();
        try {
          const appending = store.appendRecords(topic, partition, [record]);
          issued();
          await appending;
          stats.appended++;
          return;
        } catch (err) {
          this.checkRetriable(client, packet, err);
          await this.backOff(client, topic, err, delay);
        }
      }
    } finally {
      releaseSlot(state);
    }
  }

  /** Throws what a non-retriable append failure means for the client; returns for retriable ones. */
  checkRetriable(client: Client, packet: PublishPacket, err: unknown): void {
    if (!isWeirError(err) || !err.retriable) {
      const code = isWeirError(err) ? err.code : 'UNEXPECTED';
      throw this.deps.refusals.refuse(client, code, `the log refused the message: ${err instanceof Error ? err.message : String(err)}`, packet);
    }
    if (err.code === 'STORE_CLOSED') throw new StopIngest();
  }

  private async backOff(client: Client, topic: string, err: unknown, delay: number): Promise<void> {
    this.deps.stats.retries++;
    this.deps.log.debug({ err, clientId: client.id, topic }, 'append failed retriably; PUBACK withheld, retrying');
    await new Promise((resolve) => setTimeout(resolve, delay));
  }

  private async ensureTopic(client: Client, topic: string, packet: PublishPacket): Promise<void> {
    const { topics, refusals } = this.deps;
    if (topics === undefined) {
      throw refusals.refuse(client, 'unknown-topic', `log topic ${topic} does not exist and mqtt.auto_create_topics is false`, packet);
    }
    try {
      await topics.ensure(topic);
    } catch (err) {
      throw refusals.refuse(client, 'create-topic-failed', `cannot create log topic ${topic}: ${err instanceof Error ? err.message : String(err)}`, packet);
    }
  }

  private async waitForSlot(state: ClientState): Promise<void> {
    if (state.inflight < this.deps.maxInflightPerClient) {
      state.inflight++;
      return;
    }
    this.deps.stats.inflightWaits++;
    await new Promise<void>((resolve) => state.waiters.push(resolve));
  }
}
