/**
 * Turns accepted MQTT PUBLISH packets into durable log records, and holds each QoS 1/2
 * acknowledgement until its record is on disk.
 *
 * The hook is aedes's `authorizePublish`. aedes 1.x (lib/handlers/publish.js) runs it before
 * anything else for a PUBLISH, and only when it calls back does it write the PUBACK (QoS 1) or
 * persist the packet and write the PUBREC (QoS 2). So we append in the hook and call back once
 * the append resolved, i.e. once the group commit holding the record was flushed: no PUBACK can
 * go out for a record that is not durable. Calling back with an error makes aedes close that
 * one connection, which is how MQTT 3.1.1 refuses a message (it has no negative PUBACK).
 *
 * aedes reads a client's next socket chunk only after every packet of the previous chunk called
 * back (lib/client.js `nextBatch`), so while appends wait, that socket is not read and TCP flow
 * control pushes back on the sender: memory per client stays at one read chunk.
 *
 * The jobs around an append have rooms of their own: the ack order (ack-order.ts), QoS 2
 * duplicates (qos2.ts), the retained cap (retained-cap.ts), the slow path's topic creation,
 * in-flight slots and retries (slow-path.ts), refusals (refusals.ts).
 */
import type { Client, PublishPacket } from 'aedes';
import type { Logger } from '../../src/logger.js';
import { DefaultPartitioner } from '../../src/produce/partitioner.js';
import { TopicAutoCreator } from '../../src/store/auto-create.js';
import type { RecordLog, TopicAdmin } from '../../src/store/types.js';
import { AckOrder, InFlightPublish, report, type ClientState, type PublishOwner } from './ack-order.js';
import type { Mapper } from './mapping.js';
import { PublishRecords, clientIdHeader, type PublishRecord } from './publish-record.js';
import { appendQos2Once } from './qos2.js';
import { Refusals, type RefusedPublish } from './refusals.js';
import { RetainedCap } from './retained-cap.js';
import { SlowPath, releaseSlot } from './slow-path.js';
import { IngestStats } from './stats.js';

export { RefusedPublish } from './refusals.js';

export type UnmatchedPolicy = 'store' | 'drop' | 'refuse';

export interface IngestOptions {
  mapper: Mapper;
  unmatched: UnmatchedPolicy;
  autoCreateTopics: boolean;
  /** Topic configs given to the log topics this creates (flush window, compression). */
  createdTopicConfigs: Readonly<Record<string, string>>;
  /** Appends one client may have waiting; more wait their turn (they are already parsed). */
  maxInflightPerClient: number;
  /** Distinct topics with a retained message that aedes keeps in memory. */
  maxRetained: number;
}

const SYS_PREFIX = '$SYS/';

export class Ingest implements PublishOwner {
  readonly stats = new IngestStats();
  private readonly clients = new WeakMap<Client, ClientState>();
  private readonly usernames = new WeakMap<Client, string>();
  private readonly acks: AckOrder;
  private readonly retained: RetainedCap;
  private readonly refusals: Refusals;
  private readonly slowPath: SlowPath;
  private readonly records: PublishRecords;
  private readonly partitioner: DefaultPartitioner;
  private stopping = false;
  /** Whether aedes's incoming store holds this QoS 2 packet id (set by the server). */
  incomingStored: (client: Client, messageId: number) => Promise<boolean> = () => Promise.resolve(false);

  constructor(
    private readonly store: RecordLog & TopicAdmin,
    private readonly options: IngestOptions,
    log: Logger,
  ) {
    this.partitioner = new DefaultPartitioner(store);
    this.records = new PublishRecords(options.mapper);
    this.acks = new AckOrder(log);
    this.retained = new RetainedCap(options.maxRetained, this.stats, log);
    this.refusals = new Refusals(this.stats, log);
    const topics = options.autoCreateTopics
      ? new TopicAutoCreator(store, { configs: options.createdTopicConfigs, onCreated: (topic) => log.info({ topic }, 'created log topic for MQTT messages') })
      : undefined;
    const { stats, refusals, partitioner } = this;
    this.slowPath = new SlowPath({ store, partitioner, stats, log, refusals, topics, maxInflightPerClient: options.maxInflightPerClient, stopping: () => this.stopping });
  }

  /** Called at CONNECT, before the client's first PUBLISH. */
  setUsername(client: Client, username: string | undefined): void {
    if (username !== undefined) this.usernames.set(client, username);
  }

  /** Topics whose retained message survived a restart: they count toward `maxRetained`. */
  seedRetained(topics: Iterable<string>): void {
    this.retained.seed(topics);
  }

  /** PUBREL for a QoS 2 packet id: the id may now be reused for a new message [MQTT-4.3.3-2]. */
  released(client: Client, messageId: number | undefined): void {
    if (messageId !== undefined) this.clients.get(client)?.qos2.delete(messageId);
  }

  /** The aedes `authorizePublish` hook. */
  readonly authorizePublish = (client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void): void => {
    if (client === null) {
      callback(null); // wills of other brokers in a cluster: Weir runs one broker
      return;
    }
    if (packet.topic.startsWith(SYS_PREFIX)) {
      callback(this.refusals.refuse(client, 'sys-topic', `publishing to ${SYS_PREFIX} is reserved to the broker`, packet));
      return;
    }
    this.retained.limit(client, packet);
    let state = this.clients.get(client);
    if (state === undefined) {
      state = {
        clientId: client.id, clientIdHeader: clientIdHeader(client.id), username: this.usernames.get(client),
        inflight: 0, waiters: [], acks: [], ackHead: 0, releasing: false, qos2: new Map(), slowPending: 0, slowTail: Promise.resolve(),
      };
      this.clients.set(client, state);
    }
    const message = new InFlightPublish(this, client, state, packet, callback, Date.now());
    this.acks.enqueue(message);
    this.stats.received[packet.qos]++;
    if (packet.qos === 2 && packet.messageId !== undefined) report(appendQos2Once(this, message, packet.messageId), message);
    else this.appendOne(message);
  };

  /** A message's append is over: it may be called back once every earlier one was. */
  settle(message: InFlightPublish, outcome: unknown): void {
    this.acks.settle(message, outcome);
  }

  /**
   * Maps the PUBLISH to a record and appends it. The common case (topic exists, an in-flight slot
   * is free) makes no promise, no closure and no async frame: the message is the store's waiter.
   * It keeps the packet (aedes holds it anyway), not the record: the store lets go of the record
   * once it is encoded, and a retry, which is rare, maps the packet again.
   */
  appendOne(message: InFlightPublish): void {
    const { client, state } = message;
    const record = this.toRecord(message);
    if (record === undefined) {
      if (this.options.unmatched === 'refuse') {
        message.appended(this.refusals.refuse(client, 'unmatched', 'no mapping rule matches the topic (mqtt.unmatched: refuse)', message.packet));
        return;
      }
      this.stats.unmatchedDropped++;
      message.appended(null); // mqtt.unmatched: drop — acknowledged and discarded, counted
      return;
    }
    const topic = record.logTopic;
    // A client's messages are stored in the order it sent them [MQTT-4.6.0-5]: while one of its
    // messages is on the slow path, the later ones take it too, behind it.
    if (state.slowPending > 0 || !this.store.hasTopic(topic) || state.inflight >= this.options.maxInflightPerClient || this.stopping) {
      report(this.slowPath.append(message, topic, record), message);
      return;
    }
    state.inflight++;
    this.store.appendRecordsTo(topic, this.partitioner.partitionFor(topic, record.key), [record], message);
  }

  /** The store's report on a fast-path append (see appendOne). */
  appendSettled(message: InFlightPublish, err: unknown): void {
    releaseSlot(message.state);
    if (err === null) {
      this.stats.appended++;
      message.appended(null);
      return;
    }
    try {
      this.slowPath.checkRetriable(message.client, message.packet, err);
    } catch (refusal) {
      message.appended(refusal);
      return;
    }
    // Retriable: the slow path waits and tries again, with the record made anew.
    const again = this.toRecord(message);
    // Mapping is a pure function of the packet and its client, so this cannot happen; if it
    // did, the message is not acknowledged rather than acknowledged and lost.
    if (again === undefined) message.appended(new Error('the message no longer maps to a log topic'));
    else report(this.slowPath.append(message, again.logTopic, again, err), message);
  }

  /** Counts and logs a refused PUBLISH; the returned error, given to aedes, closes the connection. */
  refusal(client: Client, reason: string, message: string, packet: PublishPacket): RefusedPublish {
    return this.refusals.refuse(client, reason, message, packet);
  }

  /** Stops starting appends and waits for those under way to settle (their acks are sent). */
  async drain(): Promise<void> {
    this.stopping = true;
    await this.acks.drain();
  }

  /** The log topic and record a PUBLISH becomes, or undefined when no rule maps it. */
  private toRecord(message: InFlightPublish): PublishRecord | undefined {
    const { packet } = message;
    return this.records.make(packet, message.state, this.retained.wasRetained(packet), message.receivedAt);
  }
}
