/**
 * The persistence aedes gets: the configured one (LMDB, or aedes's own in-memory one) behind a
 * layer that tells the ingest when a QoS 2 packet id is released. A QoS 2 id is "in use" from its
 * PUBLISH until PUBREL [MQTT-4.3.3-2]; aedes deletes it from its incoming store on PUBREL, so
 * that call is where the bridge learns the id is free again.
 */
import type { Client } from 'aedes';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';

type ClientRef = Pick<Client, 'id'>;
type IncomingRef = { messageId?: number | undefined };

/**
 * The promise API aedes 1.x calls on its persistence (each method without a callback; `setup`
 * must be an async function, aedes.js checks). Answers are passed through as they come: some
 * are thenables that answer at once (persistence/index.ts `SettledAnswer`).
 */
export interface AedesPersistence {
  setup(broker: object): Promise<unknown>;
  storeRetained(packet: object): unknown;
  createRetainedStreamCombi(patterns: string[]): Readable;
  addSubscriptions(client: ClientRef, subs: object[]): unknown;
  removeSubscriptions(client: ClientRef, topics: string[]): unknown;
  subscriptionsByClient(client: ClientRef): unknown;
  subscriptionsByTopic(topic: string): unknown;
  cleanSubscriptions(client: ClientRef): unknown;
  outgoingEnqueue(sub: { clientId: string }, packet: object): unknown;
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: object): unknown;
  outgoingUpdate(client: ClientRef, packet: object): unknown;
  outgoingClearMessageId(client: ClientRef, packet: IncomingRef): unknown;
  outgoingStream(client: ClientRef): Readable;
  incomingStorePacket(client: ClientRef, packet: object): unknown;
  incomingGetPacket(client: ClientRef, packet: IncomingRef): Promise<unknown>;
  incomingDelPacket(client: ClientRef, packet: IncomingRef): Promise<unknown>;
  cleanIncoming(client: ClientRef): unknown;
  putWill(client: ClientRef, packet: object): unknown;
  delWill(client: ClientRef): unknown;
  streamWill(brokers?: Record<string, unknown>): Readable;
}

/** The in-memory persistence aedes makes when given none: its own aedes-persistence's. */
export function aedesMemoryPersistence(): AedesPersistence {
  const fromAedes = createRequire(createRequire(import.meta.url).resolve('aedes'));
  const memory = fromAedes('aedes-persistence') as () => AedesPersistence;
  return memory();
}

export class ReleaseReportingPersistence implements AedesPersistence {
  constructor(
    private readonly inner: AedesPersistence,
    private readonly released: (client: Client, messageId: number | undefined) => void,
  ) {}

  async setup(broker: object): Promise<unknown> {
    return this.inner.setup(broker);
  }

  /** PUBREL: the id is told free before it leaves the store, as aedes then answers PUBCOMP. */
  incomingDelPacket(client: Client, packet: IncomingRef): Promise<unknown> {
    this.released(client, packet.messageId);
    return this.inner.incomingDelPacket(client, packet);
  }

  storeRetained(packet: object): unknown { return this.inner.storeRetained(packet); }
  createRetainedStreamCombi(patterns: string[]): Readable { return this.inner.createRetainedStreamCombi(patterns); }
  addSubscriptions(client: ClientRef, subs: object[]): unknown { return this.inner.addSubscriptions(client, subs); }
  removeSubscriptions(client: ClientRef, topics: string[]): unknown { return this.inner.removeSubscriptions(client, topics); }
  subscriptionsByClient(client: ClientRef): unknown { return this.inner.subscriptionsByClient(client); }
  subscriptionsByTopic(topic: string): unknown { return this.inner.subscriptionsByTopic(topic); }
  cleanSubscriptions(client: ClientRef): unknown { return this.inner.cleanSubscriptions(client); }
  outgoingEnqueue(sub: { clientId: string }, packet: object): unknown { return this.inner.outgoingEnqueue(sub, packet); }
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: object): unknown { return this.inner.outgoingEnqueueCombi(subs, packet); }
  outgoingUpdate(client: ClientRef, packet: object): unknown { return this.inner.outgoingUpdate(client, packet); }
  outgoingClearMessageId(client: ClientRef, packet: IncomingRef): unknown { return this.inner.outgoingClearMessageId(client, packet); }
  outgoingStream(client: ClientRef): Readable { return this.inner.outgoingStream(client); }
  incomingStorePacket(client: ClientRef, packet: object): unknown { return this.inner.incomingStorePacket(client, packet); }
  incomingGetPacket(client: ClientRef, packet: IncomingRef): Promise<unknown> { return this.inner.incomingGetPacket(client, packet); }
  cleanIncoming(client: ClientRef): unknown { return this.inner.cleanIncoming(client); }
  putWill(client: ClientRef, packet: object): unknown { return this.inner.putWill(client, packet); }
  delWill(client: ClientRef): unknown { return this.inner.delWill(client); }
  streamWill(brokers?: Record<string, unknown>): Readable { return this.inner.streamWill(brokers); }
}
