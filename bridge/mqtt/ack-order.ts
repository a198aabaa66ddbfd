/**
 * [MQTT-4.6.0-2] acknowledgements go out in the order the PUBLISHes arrived: each message waits
 * in its client's queue until every earlier one was called back, even when its own commit
 * finished first. A queue of plain objects, not a promise chain: this runs per message.
 */
import type { Client, PublishPacket } from 'aedes';
import type { Logger } from '../../src/logger.js';
import type { AppendWaiter } from '../../src/store/types.js';
import type { Publisher } from './publish-record.js';

/** `InFlightPublish.outcome` until its message is appended, dropped by policy or refused. */
export const UNSETTLED = Symbol('unsettled');

/** Stop without acknowledging (shutdown, or the client went away). */
export class StopIngest extends Error {
  constructor() {
    super('ingest stopped');
  }
}

/** Where a message reports its append: the ingest that took it. */
export interface PublishOwner {
  /** The store's report on the fast path's append. */
  appendSettled(message: InFlightPublish, err: unknown): void;
  /** The append is over: the message may be called back once every earlier one was. */
  settle(message: InFlightPublish, outcome: unknown): void;
}

export interface ClientState extends Publisher {
  inflight: number;
  waiters: (() => void)[];
  /** This client's publishes not yet called back, oldest first, from `ackHead` on. */
  acks: InFlightPublish[];
  ackHead: number;
  /** Set while `AckOrder.release` runs: aedes may publish (and settle) from inside a callback. */
  releasing: boolean;
  /** QoS 2 packet ids appended and not yet released by PUBREL, with their append. */
  qos2: Map<number, Promise<void>>;
  /** This client's publishes on the slow path (slow-path.ts): while any is, the later ones go there too. */
  slowPending: number;
  /** Settles once the newest slow-path publish has issued its append (or given up). */
  slowTail: Promise<void>;
}

/**
 * One PUBLISH from aedes's hook until it is called back: its place in the client's ack queue, and
 * the store's waiter for its append. One object per message holds all of it (no ack record, no
 * closures): the message waits for its group commit for milliseconds, long enough to outlive a
 * young-generation scavenge or two, and each scavenge copies what it holds on to.
 */
export class InFlightPublish implements AppendWaiter {
  /** null once appended (or dropped by policy), else why not. */
  outcome: unknown = UNSETTLED;
  /** QoS 2 only: told the append's outcome instead of the ack queue (see qos2.ts). */
  afterAppend: ((err: unknown) => void) | undefined = undefined;

  constructor(
    readonly owner: PublishOwner,
    readonly client: Client,
    readonly state: ClientState,
    readonly packet: PublishPacket,
    readonly callback: (error?: Error | null) => void,
    readonly receivedAt: number,
  ) {}

  /** The store's report on the fast path's append. */
  appendSettled(err: unknown): void {
    this.owner.appendSettled(this, err);
  }

  /** The append is over: null when appended (or dropped by policy), else why not. */
  appended(err: unknown): void {
    if (this.afterAppend !== undefined) this.afterAppend(err);
    else this.owner.settle(this, err);
  }
}

/** Reports a promise-based (slow path) step; a rejection without a reason still fails. */
export function report(work: Promise<void>, to: { appended(err: unknown): void }): void {
  work.then(
    () => to.appended(null),
    (err: unknown) => to.appended(err ?? new Error('ingest failed')),
  );
}

/** The ack queues of every client, and the count of publishes not yet called back. */
export class AckOrder {
  /** Publishes not yet called back; `drain()` waits for 0. */
  private pending = 0;
  private drained: (() => void) | undefined;

  constructor(private readonly log: Logger) {}

  /** Takes its place in its client's queue. */
  enqueue(message: InFlightPublish): void {
    message.state.acks.push(message);
    this.pending++;
  }

  /** The message's append is over: calls back what it no longer holds up. */
  settle(message: InFlightPublish, outcome: unknown): void {
    message.outcome = outcome;
    this.release(message.state, message.client);
  }

  /** Resolves once every enqueued publish was called back. */
  async drain(): Promise<void> {
    while (this.pending > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.drained = undefined;
  }

  /** Calls back the settled publishes at the head of the client's queue, in arrival order. */
  private release(state: ClientState, client: Client): void {
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
    if (--this.pending === 0) this.drained?.();
  }
}
