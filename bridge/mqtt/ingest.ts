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
 */
import type { Client, PublishPacket } from 'aedes';
import { isWeirError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import type { RecordInput } from '../../src/kafka/protocol/record-batch.js';
import { DefaultPartitioner } from '../../src/produce/partitioner.js';
import type { AppendWaiter, RecordLog, TopicAdmin } from '../../src/store/types.js';
import type { Mapper } from './mapping.js';
import { PublishRecords, clientIdHeader, type PublishRecord, type Publisher } from './publish-record.js';
import { IngestStats } from './stats.js';
import { WarnLimiter } from './warn-limiter.js';

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

/** An error handed to aedes: it closes the client's connection, and we log why once. */
export class RefusedPublish extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
    this.name = 'RefusedPublish';
  }
}

/** `InFlightPublish.outcome` until its message is appended, dropped by policy or refused. */
const UNSETTLED = Symbol('unsettled');

/**
 * One PUBLISH from aedes's hook until it is called back: its place in the client's ack queue, and
 * the store's waiter for its append. One object per message holds all of it (no ack record, no
 * closures): the message waits for its group commit for milliseconds, long enough to outlive a
 * young-generation scavenge or two, and each scavenge copies what it holds on to.
 */
class InFlightPublish implements AppendWaiter {
  /** null once appended (or dropped by policy), else why not. */
  outcome: unknown = UNSETTLED;
  /** QoS 2 only: told the append's outcome instead of the ack queue (see ingestQos2). */
  afterAppend: ((err: unknown) => void) | undefined = undefined;

  constructor(
    readonly ingest: Ingest,
    readonly client: Client,
    readonly state: ClientState,
    readonly packet: PublishPacket,
    readonly callback: (error?: Error | null) => void,
    readonly receivedAt: number,
    /**
     * A closed client cannot send a PUBLISH (aedes stops parsing on close), so a publish for a
     * closed client is its Will [MQTT-3.1.2-8], sent by aedes as the connection ends. It is
     * appended like any message, but nobody waits for an ack, so it is kept even though its
     * client is gone.
     */
    readonly isWill: boolean,
  ) {}

  /** The store's report on the fast path's append. */
  appendSettled(err: unknown): void {
    this.ingest.appendSettled(this, err);
  }

  /** The append is over: null when appended (or dropped by policy), else why not. */
  appended(err: unknown): void {
    if (this.afterAppend !== undefined) this.afterAppend(err);
    else this.ingest.settle(this, err);
  }
}

/** Reports a promise-based (slow path) step; a rejection without a reason still fails. */
function report(work: Promise<void>, to: { appended(err: unknown): void }): void {
  work.then(
    () => to.appended(null),
    (err: unknown) => to.appended(err ?? new Error('ingest failed')),
  );
}

interface ClientState extends Publisher {
  inflight: number;
  waiters: (() => void)[];
  /** This client's publishes not yet called back, oldest first, from `ackHead` on. */
  acks: InFlightPublish[];
  ackHead: number;
  /** Set while `releaseAcks` runs: aedes may publish (and settle) from inside a callback. */
  releasing: boolean;
  /** QoS 2 packet ids appended and not yet released by PUBREL, with their append. */
  qos2: Map<number, Promise<void>>;
}

const SYS_PREFIX = '$SYS/';
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 1000;

export class Ingest {
  readonly stats = new IngestStats();
  private readonly clients = new WeakMap<Client, ClientState>();
  private readonly usernames = new WeakMap<Client, string>();
  private readonly creating = new Map<string, Promise<void>>();
  private createChain: Promise<void> = Promise.resolve();
  /** Publishes not yet called back; drain() waits for 0. */
  private pendingCount = 0;
  private drained: (() => void) | undefined;
  private readonly retainedTopics = new Set<string>();
  /** Retained PUBLISHes stripped of their flag by the cap: the record still says they were retained. */
  private readonly notRetained = new WeakSet<PublishPacket>();
  private readonly records: PublishRecords;
  private readonly partitioner: DefaultPartitioner;
  private stopping = false;
  private readonly retainWarning: WarnLimiter;
  /** Per reason, so a flood of one kind of refusal does not hide the first of another. */
  private readonly refusalWarnings = new Map<string, WarnLimiter>();
  /** Whether aedes's incoming store holds this QoS 2 packet id (set by the server). */
  incomingStored: (client: Client, messageId: number) => Promise<boolean> = () => Promise.resolve(false);

  constructor(
    private readonly store: RecordLog & TopicAdmin,
    private readonly options: IngestOptions,
    private readonly log: Logger,
  ) {
    this.partitioner = new DefaultPartitioner(store);
    this.records = new PublishRecords(options.mapper);
    this.retainWarning = new WarnLimiter(log);
  }

  /** Called at CONNECT, before the client's first PUBLISH. */
  setUsername(client: Client, username: string | undefined): void {
    if (username !== undefined) this.usernames.set(client, username);
  }

  /** Topics whose retained message survived a restart: they count toward `maxRetained`. */
  seedRetained(topics: Iterable<string>): void {
    for (const topic of topics) this.retainedTopics.add(topic);
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
      callback(this.refuse(client, 'sys-topic', `publishing to ${SYS_PREFIX} is reserved to the broker`, packet));
      return;
    }
    this.limitRetained(client, packet);
    let state = this.clients.get(client);
    if (state === undefined) {
      state = {
        clientId: client.id, clientIdHeader: clientIdHeader(client.id), username: this.usernames.get(client),
        inflight: 0, waiters: [], acks: [], ackHead: 0, releasing: false, qos2: new Map(),
      };
      this.clients.set(client, state);
    }
    // [MQTT-4.6.0-2] acknowledgements go out in the order the PUBLISHes arrived, so each waits in
    // the client's queue until every earlier one was called back, even when its own commit
    // finished first. A queue of plain objects, not a promise chain: this runs per message.
    const message = new InFlightPublish(this, client, state, packet, callback, Date.now(), client.closed);
    state.acks.push(message);
    this.pendingCount++;
    this.ingest(message);
  };

  /** A message's append is over: it may be called back once every earlier one was. */
  settle(message: InFlightPublish, outcome: unknown): void {
    message.outcome = outcome;
    this.releaseAcks(message.state, message.client);
  }

  /** Calls back the settled publishes at the head of the client's queue, in arrival order. */
  private releaseAcks(state: ClientState, client: Client): void {
    if (state.releasing) return; // the outer call goes on with what this one would have done
    state.releasing = true;
    try {
      while (state.ackHead < state.acks.length) {
        const message = state.acks[state.ackHead]!;
        if (message.outcome === UNSETTLED) break;
        state.ackHead++;
        this.callBack(message, client);
      }
      if (state.ackHead === state.acks.length) {
        state.acks.length = 0;
        state.ackHead = 0;
      } else if (state.ackHead > 64 && state.ackHead * 2 > state.acks.length) {
        state.acks.splice(0, state.ackHead);
        state.ackHead = 0;
      }
    } finally {
      state.releasing = false;
    }
  }

  private callBack(message: InFlightPublish, client: Client): void {
    const err = message.outcome;
    try {
      if (err === null) message.callback(null);
      else if (!(err instanceof StopIngest)) message.callback(err instanceof Error ? err : new Error(String(err))); // StopIngest: shutting down or client gone, no ack ever
    } catch (thrown) {
      // One failing callback must not stall the acks queued behind it.
      this.log.error({ err: thrown, clientId: client.id }, 'aedes failed while acknowledging a PUBLISH');
    }
    if (--this.pendingCount === 0) this.drained?.();
  }

  /**
   * aedes keeps retained messages in memory, one per topic, so their number is capped: past the
   * cap a retained PUBLISH on a new topic is still appended and delivered, but not retained.
   * A zero-length retained payload deletes the topic's retained message [MQTT-3.3.1-10].
   */
  private limitRetained(client: Client, packet: PublishPacket): void {
    if (!packet.retain) return;
    if (packet.payload.length === 0) {
      this.retainedTopics.delete(packet.topic);
      return;
    }
    if (this.retainedTopics.has(packet.topic)) return;
    if (this.retainedTopics.size < this.options.maxRetained) {
      this.retainedTopics.add(packet.topic);
      return;
    }
    this.stats.retainRefused++;
    this.retainWarning.warn({ clientId: client.id, topic: packet.topic, maxRetained: this.options.maxRetained, refused: this.stats.retainRefused }, 'not retaining the message: mqtt.max_retained_messages reached');
    packet.retain = false;
    this.notRetained.add(packet);
  }

  private ingest(message: InFlightPublish): void {
    const { packet } = message;
    this.stats.received[packet.qos]++;
    if (packet.qos === 2 && packet.messageId !== undefined) {
      report(this.ingestQos2(message, packet.messageId), message);
      return;
    }
    this.appendOne(message);
  }

  private async ingestQos2(message: InFlightPublish, messageId: number): Promise<void> {
    const { client, state, packet } = message;
    const earlier = state.qos2.get(messageId);
    // [MQTT-4.3.3-2] a retransmitted QoS 2 PUBLISH (DUP set, same packet id, not yet released
    // by PUBREL) is the same message: answer it once its first copy is durable, append nothing.
    if (earlier !== undefined && packet.dup) {
      this.stats.duplicates++;
      await earlier;
      return;
    }
    // A DUP of a persistent session's message from an earlier connection: aedes still holds
    // it, unreleased, so it was appended then.
    if (earlier === undefined && packet.dup && (await this.incomingStored(client, messageId))) {
      this.stats.duplicates++;
      return;
    }
    const appended = new Promise<void>((resolve, reject) => {
      message.afterAppend = (err) => (err === null ? resolve() : reject(err));
      this.appendOne(message);
    });
    state.qos2.set(messageId, appended);
    try {
      await appended;
    } catch (err) {
      state.qos2.delete(messageId);
      throw err;
    } finally {
      message.afterAppend = undefined;
    }
  }

  /** The log topic and record a PUBLISH becomes, or undefined when no rule maps it. */
  private toRecord(message: InFlightPublish): PublishRecord | undefined {
    const { packet } = message;
    return this.records.make(packet, message.state, packet.retain || this.notRetained.has(packet), message.receivedAt);
  }

  /**
   * Maps the PUBLISH to a record and appends it. The common case (topic exists, an in-flight slot
   * is free) makes no promise, no closure and no async frame: the message is the store's waiter.
   * It keeps the packet (aedes holds it anyway), not the record: the store lets go of the record
   * once it is encoded, and a retry, which is rare, maps the packet again.
   */
  private appendOne(message: InFlightPublish): void {
    const { client, state } = message;
    const record = this.toRecord(message);
    if (record === undefined) {
      if (this.options.unmatched === 'refuse') {
        message.appended(this.refuse(client, 'unmatched', 'no mapping rule matches the topic (mqtt.unmatched: refuse)', message.packet));
        return;
      }
      this.stats.unmatchedDropped++;
      message.appended(null); // mqtt.unmatched: drop — acknowledged and discarded, counted
      return;
    }
    const topic = record.logTopic;
    if (!this.store.hasTopic(topic) || state.inflight >= this.options.maxInflightPerClient || this.stopping) {
      report(this.appendWithRetry(message, topic, record), message);
      return;
    }
    state.inflight++;
    this.store.appendRecordsTo(topic, this.partitioner.partitionFor(topic, record.key), [record], message);
  }

  /** The store's report on a fast-path append (see appendOne). */
  appendSettled(message: InFlightPublish, err: unknown): void {
    this.release(message.state);
    if (err === null) {
      this.stats.appended++;
      message.appended(null);
      return;
    }
    try {
      this.checkRetriable(message.client, message.packet, err);
    } catch (refusal) {
      message.appended(refusal);
      return;
    }
    // Retriable: the slow path waits and tries again, with the record made anew.
    const again = this.toRecord(message);
    // Mapping is a pure function of the packet and its client, so this cannot happen; if it
    // did, the message is not acknowledged rather than acknowledged and lost.
    if (again === undefined) message.appended(new Error('the message no longer maps to a log topic'));
    else report(this.appendWithRetry(message, again.logTopic, again, err), message);
  }

  /**
   * The slow path: creates the topic if needed, waits for an in-flight slot, and retries
   * retriable failures (write queue full, disk budget full under `block`, an I/O hiccup) with the
   * ack withheld: the client waits, which is the back-pressure we want.
   */
  private async appendWithRetry(message: InFlightPublish, topic: string, record: RecordInput, failed?: unknown): Promise<void> {
    const { client, state, packet } = message;
    if (failed !== undefined) await this.backOff(client, topic, failed, RETRY_MIN_MS);
    if (!this.store.hasTopic(topic)) await this.ensureTopic(client, topic, packet);
    if (state.inflight < this.options.maxInflightPerClient) state.inflight++;
    else await this.acquire(state);
    const partition = this.partitioner.partitionFor(topic, record.key ?? null);
    try {
      for (let delay = failed === undefined ? RETRY_MIN_MS : RETRY_MIN_MS * 2; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
        // Not abandoned when the client went away: the PUBLISH was accepted, and a one-shot
        // client (mosquitto_pub, QoS 0) disconnects while its topic is being created or its
        // commit waits for the flush window. Only shutdown stops it (unacked QoS 1/2 is resent).
        if (this.stopping) throw new StopIngest();
        try {
          await this.store.appendRecords(topic, partition, [record]);
          this.stats.appended++;
          return;
        } catch (err) {
          this.checkRetriable(client, packet, err);
          await this.backOff(client, topic, err, delay);
        }
      }
    } finally {
      this.release(state);
    }
  }

  /** Throws what a non-retriable append failure means for the client; returns for retriable ones. */
  private checkRetriable(client: Client, packet: PublishPacket, err: unknown): void {
    if (!isWeirError(err) || !err.retriable) {
      const code = isWeirError(err) ? err.code : 'UNEXPECTED';
      throw this.refuse(client, code, `the log refused the message: ${err instanceof Error ? err.message : String(err)}`, packet);
    }
    if (err.code === 'STORE_CLOSED') throw new StopIngest();
  }

  private async backOff(client: Client, topic: string, err: unknown, delay: number): Promise<void> {
    this.stats.retries++;
    this.log.debug({ err, clientId: client.id, topic }, 'append failed retriably; PUBACK withheld, retrying');
    await new Promise((resolve) => setTimeout(resolve, delay));
  }

  private async ensureTopic(client: Client, topic: string, packet: PublishPacket): Promise<void> {
    if (this.store.hasTopic(topic)) return;
    if (!this.options.autoCreateTopics) {
      throw this.refuse(client, 'unknown-topic', `log topic ${topic} does not exist and mqtt.auto_create_topics is false`, packet);
    }
    let creating = this.creating.get(topic);
    if (creating === undefined) {
      // One creation at a time: the store allocates partition ids from a counter it reads
      // before the previous creation committed, so concurrent createTopic calls can be given
      // the same ids (and then share their log). Serializing here avoids that.
      creating = this.createChain.then(() => this.store.hasTopic(topic) ? undefined : this.store.createTopic(topic, { configs: { ...this.options.createdTopicConfigs } })).then(
        (created) => {
          if (created !== undefined) this.log.info({ topic }, 'created log topic for MQTT messages');
        },
        (err: unknown) => {
          if (!isWeirError(err, 'TOPIC_ALREADY_EXISTS')) throw err;
        },
      );
      this.creating.set(topic, creating);
      this.createChain = creating.catch(() => undefined);
      void creating.then(
        () => this.creating.delete(topic),
        () => this.creating.delete(topic),
      );
    }
    try {
      await creating;
    } catch (err) {
      throw this.refuse(client, 'create-topic-failed', `cannot create log topic ${topic}: ${err instanceof Error ? err.message : String(err)}`, packet);
    }
  }

  private async acquire(state: ClientState): Promise<void> {
    if (state.inflight < this.options.maxInflightPerClient) {
      state.inflight++;
      return;
    }
    this.stats.inflightWaits++;
    await new Promise<void>((resolve) => state.waiters.push(resolve));
  }

  private release(state: ClientState): void {
    const next = state.waiters.shift();
    if (next !== undefined) next(); // the slot passes straight to the next waiter
    else state.inflight--;
  }

  /** Counts and logs a refused PUBLISH; the returned error, given to aedes, closes the connection. */
  refusal(client: Client, reason: string, message: string, packet: PublishPacket): RefusedPublish {
    return this.refuse(client, reason, message, packet);
  }

  private refuse(client: Client, reason: string, message: string, packet: PublishPacket): RefusedPublish {
    this.stats.refused.set(reason, (this.stats.refused.get(reason) ?? 0) + 1);
    let warning = this.refusalWarnings.get(reason);
    if (warning === undefined) this.refusalWarnings.set(reason, (warning = new WarnLimiter(this.log)));
    warning.warn({ clientId: client.id, topic: packet.topic, qos: packet.qos, reason }, `refusing PUBLISH and disconnecting the client: ${message}`);
    return new RefusedPublish(reason, message);
  }

  /** Stops starting appends and waits for those under way to settle (their acks are sent). */
  async drain(): Promise<void> {
    this.stopping = true;
    while (this.pendingCount > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.drained = undefined;
  }
}

/** Internal: stop without acknowledging (shutdown, or the client went away). */
class StopIngest extends Error {
  constructor() {
    super('ingest stopped');
  }
}
