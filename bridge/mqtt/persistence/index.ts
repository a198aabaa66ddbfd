/**
 * An aedes persistence that keeps MQTT state in the log's LMDB environment (store.kv), so it
 * survives a restart: retained messages, persistent sessions' subscriptions, their queued QoS 1/2
 * messages, incoming QoS 2 packet ids awaiting PUBREL, and wills. It implements the promise API
 * aedes 1.x calls (aedes.js checks that `setup` is an async function, then calls each method
 * without a callback) and passes aedes-persistence's abstract suite
 * (test/bridge/mqtt/persistence-abstract.test.ts).
 *
 * What must be on disk before aedes goes on is awaited: a retained message, a subscription, a
 * queued message, an incoming QoS 2 id and its release [MQTT-4.3.3-2] (else a restart could
 * publish it twice, or swallow a new message reusing the id), a will. Bookkeeping whose loss
 * costs at most a redelivery (packet ids of queued messages, PUBACKed messages) is written
 * without waiting.
 *
 * One broker (no cluster): aedes-persistence's `broadcastSubscriptions` is not needed.
 */
import type { Readable } from 'node:stream';
import { Readable as ReadableStream } from 'node:stream';
import type { Logger } from '../../../src/logger.js';
import type { KeyValueStore, KvNamespace } from '../../../src/store/types.js';
import { Packet as AedesPacket, keyPart, plain } from './keys.js';
import { OutgoingQueues, type OutgoingCaps, type OutgoingPacket } from './outgoing.js';
import { RetainedMessages } from './retained.js';
import { Subscriptions, type SubscriptionInput } from './subscriptions.js';

/**
 * An answer that is already there, handed over at once. aedes asks `subscriptionsByTopic`, then
 * `outgoingEnqueueCombi`, for every PUBLISH, and takes both answers only with `.then(onFulfilled,
 * onRejected)` (aedes.js `enqueueOffline`). With no persistent subscriptions the answers are "none"
 * and "done"; a Promise would hand them over through a microtask, with a reaction, a job and a
 * derived promise per call (garbage per message, and the microtask queue's time). This calls back
 * synchronously, as mqemitter does for an emit that matches nobody. `await` takes it like any
 * thenable. It does not chain: `then` returns nothing.
 */
export class SettledAnswer<T> {
  constructor(private readonly value: T) {}

  then(onFulfilled?: ((value: T) => unknown) | null, _onRejected?: ((reason: unknown) => unknown) | null): void {
    onFulfilled?.(this.value);
  }
}

/** What aedes gets from the two methods above: usually settled at once, a Promise otherwise. */
export type Answer<T> = Promise<T> | SettledAnswer<T>;

const NO_SUBSCRIPTIONS = new SettledAnswer<ReturnType<Subscriptions['matching']>>(Object.freeze([]) as unknown as ReturnType<Subscriptions['matching']>);
const NOTHING_TO_ENQUEUE = new SettledAnswer<void>(undefined);

export interface LmdbPersistenceOptions extends OutgoingCaps {
  /** Topics with a retained message; past it a retained message on a new topic is not kept. */
  maxRetained: number;
}

interface ClientRef {
  id: string;
}

interface BrokerRef {
  id: string;
  /** aedes's connected clients by id. */
  clients?: Record<string, unknown>;
}

type Packet = OutgoingPacket & { topic?: string; payload?: Buffer | string };

export interface PersistenceStats {
  retained: number;
  retainRefused: number;
  sessions: number;
  subscriptions: number;
  queued: number;
  queueDropped: number;
  /** Payload bytes stored for the queues (each payload once, however many sessions queue it). */
  queuedBytes: number;
  /** Messages × offline sessions not queued because of `mqtt.max_queued_bytes`. */
  queueDroppedBytesCap: number;
}

/** The kv namespace of the bridge's state. */
export const MQTT_KV_NAMESPACE = 'mqtt';

export class LmdbPersistence {
  private brokerRef: BrokerRef | undefined;
  private retained!: RetainedMessages;
  private subs!: Subscriptions;
  private outgoing!: OutgoingQueues;
  private destroyed = false;

  constructor(
    private readonly kv: KvNamespace,
    private readonly options: LmdbPersistenceOptions,
    private readonly log: Logger,
  ) {}

  get broker(): BrokerRef | undefined {
    return this.brokerRef;
  }

  /** Loads the state from disk (aedes awaits this in `listen()`). */
  async setup(broker: BrokerRef): Promise<void> {
    this.brokerRef = broker;
    this.retained = new RetainedMessages(this.kv, this.options.maxRetained, this.log);
    this.subs = new Subscriptions(this.kv, this.log);
    this.outgoing = new OutgoingQueues(this.kv, this.options, this.log, (clientId) => broker.clients?.[clientId] !== undefined);
    this.log.info(this.stats(), 'MQTT state loaded');
  }

  stats(): PersistenceStats {
    return {
      retained: this.retained.size,
      retainRefused: this.retained.refused,
      sessions: this.subs.clients,
      subscriptions: this.subs.count,
      queued: this.outgoing.size,
      queueDropped: this.outgoing.dropped,
      queuedBytes: this.outgoing.bytes,
      queueDroppedBytesCap: this.outgoing.droppedBytesCap,
    };
  }

  /** Topics with a retained message now (the ingest seeds its retained cap check with them). */
  retainedTopics(): IterableIterator<string> {
    return this.retained.topicNames();
  }

  // ------------------------------------------------------------ retained

  storeRetained(packet: Packet & { topic: string; payload: Buffer | string }): Promise<void> {
    return this.retained.store(packet);
  }

  createRetainedStream(pattern: string): Readable {
    return this.retained.stream([pattern]);
  }

  createRetainedStreamCombi(patterns: string[]): Readable {
    return this.retained.stream(patterns);
  }

  // ------------------------------------------------------------ subscriptions

  async addSubscriptions(client: ClientRef, subs: SubscriptionInput[]): Promise<void> {
    await this.subs.add(client.id, subs);
  }

  async removeSubscriptions(client: ClientRef, topics: string[]): Promise<void> {
    await this.subs.remove(client.id, topics);
  }

  async subscriptionsByClient(client: ClientRef): Promise<SubscriptionInput[]> {
    return this.subs.byClientId(client.id);
  }

  async countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    return { subsCount: this.subs.count, clientsCount: this.subs.clients };
  }

  /**
   * aedes asks this for every PUBLISH (offline subscribers), and then hands the answer to
   * `outgoingEnqueueCombi`. A gateway usually has no persistent subscriptions: then both answer
   * at once (SettledAnswer; the empty list is frozen, aedes only reads it).
   */
  subscriptionsByTopic(topic: string): Answer<ReturnType<Subscriptions['matching']>> {
    if (this.subs.count === 0) return NO_SUBSCRIPTIONS;
    return this.matchingSubscriptions(topic);
  }

  private async matchingSubscriptions(topic: string): Promise<ReturnType<Subscriptions['matching']>> {
    return this.subs.matching(topic);
  }

  async cleanSubscriptions(client: ClientRef): Promise<ClientRef> {
    await this.subs.clean(client.id);
    return client;
  }

  getClientList(topic: string): Readable {
    return ReadableStream.from(this.subs.clientsSubscribedTo(topic));
  }

  // ------------------------------------------------------------ outgoing queues

  outgoingEnqueue(sub: { clientId: string }, packet: Packet): Promise<void> {
    return this.outgoing.enqueue([sub.clientId], packet);
  }

  outgoingEnqueueCombi(subs: { clientId: string }[], packet: Packet): Answer<void> {
    if (subs.length === 0) return NOTHING_TO_ENQUEUE;
    return this.outgoing.enqueue(subs.map((s) => s.clientId), packet);
  }

  async outgoingUpdate(client: ClientRef, packet: Packet): Promise<void> {
    this.outgoing.update(client.id, packet);
  }

  /**
   * PUBACK/PUBCOMP. Without a packet id it is aedes declining a delivery (`authorizeForward`
   * answered null: the subscriber is past its outgoing budget): the message stays queued for the
   * client's next connection.
   */
  async outgoingClearMessageId(client: ClientRef, packet: { messageId?: number | undefined }): Promise<OutgoingPacket | undefined> {
    if (packet.messageId === undefined) return undefined;
    return this.outgoing.clear(client.id, packet.messageId);
  }

  outgoingStream(client: ClientRef): Readable {
    return this.outgoing.stream(client.id);
  }

  // ------------------------------------------------------------ incoming QoS 2

  async incomingStorePacket(client: ClientRef, packet: Packet): Promise<void> {
    const stored = plain(new AedesPacket(packet));
    stored['messageId'] = packet.messageId;
    await this.kv.put(['i', keyPart(client.id), packet.messageId ?? 0], stored);
  }

  async incomingGetPacket(client: ClientRef, packet: { messageId?: number | undefined }): Promise<Packet> {
    const stored = this.kv.get(['i', keyPart(client.id), packet.messageId ?? 0]) as Packet | undefined;
    if (stored === undefined) throw new Error('no such packet');
    return stored;
  }

  async incomingDelPacket(client: ClientRef, packet: { messageId?: number | undefined }): Promise<void> {
    const key = ['i', keyPart(client.id), packet.messageId ?? 0];
    if (this.kv.get(key) === undefined) throw new Error('no such packet');
    await this.kv.remove(key);
  }

  /** A clean session forgets the client's QoS 2 ids [MQTT-3.1.2-6]. */
  async cleanIncoming(client: ClientRef): Promise<void> {
    await Promise.all([...this.kv.getRange(['i', keyPart(client.id)])].map(({ key }) => this.kv.remove(key)));
  }

  // ------------------------------------------------------------ wills

  async putWill(client: ClientRef, packet: Packet): Promise<ClientRef> {
    packet.brokerId = this.brokerRef?.id;
    packet['clientId'] = client.id;
    await this.kv.put(['w', keyPart(client.id)], plain(packet));
    return client;
  }

  async getWill(client: ClientRef): Promise<Packet | undefined> {
    return this.kv.get(['w', keyPart(client.id)]) as Packet | undefined;
  }

  async delWill(client: ClientRef): Promise<Packet | undefined> {
    const key = ['w', keyPart(client.id)];
    const will = this.kv.get(key) as Packet | undefined;
    if (will !== undefined) await this.kv.remove(key);
    return will;
  }

  /**
   * Wills of brokers not in `brokers` (alive). After a restart aedes has a new id, so the wills
   * of clients that were connected when the previous process died are published [MQTT-3.1.2-8].
   */
  streamWill(brokers: Record<string, unknown> = {}): Readable {
    const wills = [...this.kv.getRange(['w'])].map(({ value }) => value as Packet).filter((w) => w.brokerId === undefined || brokers[w.brokerId] === undefined);
    return ReadableStream.from(wills);
  }

  async destroy(): Promise<void> {
    if (this.destroyed) throw new Error('destroyed called twice!');
    this.destroyed = true;
  }
}

/** The persistence for `mqtt.persistence: lmdb`, in `store`'s environment. */
export function lmdbPersistence(store: KeyValueStore, options: LmdbPersistenceOptions, log: Logger): LmdbPersistence {
  return new LmdbPersistence(store.kv(MQTT_KV_NAMESPACE), options, log.child({ part: 'persistence' }));
}
