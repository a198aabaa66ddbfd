/**
 * The message bus aedes delivers PUBLISHes through (its `mq` option): aedes's own default,
 * mqemitter, behind a check that skips topic matching when no subscription can match.
 *
 * mqemitter splits every published topic into levels and walks its subscription trie, even when
 * nobody subscribes, which is the usual case on a gateway whose messages go to the log and on to
 * Kafka: a measurable share of the main thread at high rates (BENCHMARKS.md, "MQTT bridge"), plus
 * the array of levels each time. aedes itself subscribes only to `$SYS/+/…` filters, and a filter
 * whose first level is a literal starting with `$` can only match topics whose first level is that
 * same word [MQTT-4.7.2-1]. So a topic that does not start with `$`, while every subscription's
 * filter does, has no match, and the emit can answer at once, as mqemitter does for an empty match
 * (synchronously, without arguments).
 *
 * Subscriptions are counted here the way mqemitter's trie holds them (an `on` adds an entry, a
 * `removeListener` takes one away if there is one, once mqemitter has actually removed it), so the
 * count cannot claim "none" while the trie still holds a listener that would match.
 *
 * The concurrency limit (aedes's `concurrency`: messages being delivered at once) is kept here, not
 * in mqemitter. mqemitter starts its next queued message from inside the completion of the
 * previous one (`released → _do → parallel`), and a message that matches nobody completes
 * synchronously, so a queue of N such messages is released by a recursion N deep. A client
 * controls N: a subscriber that stops reading holds the 100 deliveries in flight while publishers
 * queue thousands behind them, and when it resets, its subscription is gone and the whole queue
 * completes at once: `RangeError: Maximum call stack size exceeded`, process dead. Here the queue
 * is drained by a loop; a completion inside the loop only frees a slot for it.
 *
 * With `awaitListeners: false` (the bridge) a message is complete once every matching listener has
 * been handed it: a listener's own completion (aedes's write to a subscriber, which waits for the
 * socket to drain) is not awaited, so a subscriber that stops reading cannot hold the bus, and
 * through it the publishers. What bounds that subscriber instead is its outgoing budget
 * (outgoing-budget.ts).
 *
 * Muted listeners. A subscriber past its budget has its deliveries dropped, but each still costs
 * aedes a `Packet` copy and a `setImmediate` before the budget hook (aedes's `authorizeForward`)
 * says no, once per message for a subscriber to `#`. With a `MuteSource` (the budget), each
 * listener call is followed by asking it whether the call's delivery was dropped for a
 * connection it muted; the listener is then skipped, at the cost of a check, for the messages the
 * mute says it would drop, until the mute ends (its socket drains). aedes asks the hook
 * synchronously inside the listener call (subscribe.js `handlePacketSubscription` → client.js
 * `deliverQoS0` → `getToForwardPacket`), so the answer belongs to that call; nothing of aedes's
 * subscription state is read here.
 */
import mqemitter from 'mqemitter';

type Message = mqemitter.Message;
type Listener = (message: Message, done: () => void) => void;

/** A connection muted by its budget: its listeners skip, while `active`, what `passesOver` accepts. */
export interface ListenerMute {
  readonly active: boolean;
  /** True when `message` may be skipped for the muted connection (then it is counted as dropped). */
  passesOver(message: Message): boolean;
}

/** Who mutes: asked after each listener call, it answers the mute that call's delivery caused. */
export interface MuteSource {
  /** The mute applied since the last call, if any; clears it. */
  takeMute(): ListenerMute | undefined;
}

export interface LocalEmitterOptions {
  /** False: a message is complete once handed to every listener (see above). */
  awaitListeners: boolean;
  /** Mutes listeners of connections past their budget; needs `awaitListeners: false`. */
  mutes?: MuteSource;
}

/** What aedes calls on its `mq` (aedes 1.x: on, removeListener, emit, close). */
export class LocalEmitter {
  private readonly inner: mqemitter.MQEmitter;
  /** Entries per filter that can match a topic not starting with `$`, per listener. */
  private readonly plain = new Map<string, Map<Listener, number>>();
  private plainCount = 0;
  private closed = false;
  /** Messages being delivered (emitted to mqemitter, not yet called back). */
  private current = 0;
  /** Messages waiting for a slot, oldest first, from `head` on. */
  private queue: [Message, ((error?: Error) => void) | undefined][] = [];
  private head = 0;
  private pumping = false;

  private readonly detached = new WeakMap<Listener, Listener>();

  /** aedes's `concurrency`, and the option aedes gives its default mqemitter: [MQTT-4.7.1-3]. */
  constructor(private readonly concurrency: number, private readonly options: LocalEmitterOptions = { awaitListeners: true }) {
    // 0 = no limit in mqemitter: it never queues, so it never releases recursively.
    this.inner = mqemitter({ concurrency: 0, matchEmptyLevels: true });
  }

  /** Messages waiting for a delivery slot. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Subscriptions whose filter can match a topic that does not start with `$`. */
  get plainSubscriptions(): number {
    return this.plainCount;
  }

  on(topic: string, listener: Listener, callback?: () => void): this {
    this.inner.on(topic, this.asGiven(listener), callback);
    if (canMatchPlainTopics(topic)) {
      let listeners = this.plain.get(topic);
      if (listeners === undefined) this.plain.set(topic, (listeners = new Map()));
      listeners.set(listener, (listeners.get(listener) ?? 0) + 1);
      this.plainCount++;
    }
    return this;
  }

  removeListener(topic: string, listener: Listener, callback?: () => void): void {
    this.inner.removeListener(topic, this.asGiven(listener), () => {
      this.forget(topic, listener);
      callback?.();
    });
  }

  emit(message: Message, callback?: (error?: Error) => void): void {
    if (this.plainCount === 0 && !this.closed && !message.topic.startsWith('$')) {
      callback?.();
      return;
    }
    if (this.current >= this.concurrency || this.queued > 0) {
      this.queue.push([message, callback]);
      return;
    }
    this.deliver(message, callback);
  }

  close(callback: () => void): void {
    this.closed = true; // mqemitter then fails every emit, queued ones too; so do we
    this.inner.close(callback);
    this.pump();
  }

  /** The function mqemitter holds for `listener`: itself, or one that completes at once. */
  private asGiven(listener: Listener): Listener {
    if (this.options.awaitListeners) return listener;
    let given = this.detached.get(listener);
    if (given === undefined) {
      const mutes = this.options.mutes;
      given = mutes === undefined ? detached(listener) : muteable(listener, mutes);
      this.detached.set(listener, given);
    }
    return given;
  }

  private deliver(message: Message, callback: ((error?: Error) => void) | undefined): void {
    this.current++;
    this.inner.emit(message, (error?: Error) => {
      this.current--;
      callback?.(error);
      this.pump();
    });
  }

  /** Starts queued messages while slots are free; re-entered from a completion, it returns. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while ((this.current < this.concurrency || this.closed) && this.head < this.queue.length) {
        const [message, callback] = this.queue[this.head]!;
        this.queue[this.head++] = undefined as never;
        if (this.head === this.queue.length || this.head >= 1024) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        this.deliver(message, callback);
      }
    } finally {
      this.pumping = false;
    }
  }

  private forget(topic: string, listener: Listener): void {
    const listeners = this.plain.get(topic);
    const entries = listeners?.get(listener);
    if (listeners === undefined || entries === undefined) return; // mqemitter removed nothing either
    if (entries > 1) listeners.set(listener, entries - 1);
    else listeners.delete(listener);
    if (listeners.size === 0) this.plain.delete(topic);
    this.plainCount--;
  }
}

function ignore(): void {}

function detached(listener: Listener): Listener {
  return (message, done) => {
    listener(message, ignore);
    done();
  };
}

/** `detached`, skipping `listener` while a mute its own delivery caused says so. */
function muteable(listener: Listener, mutes: MuteSource): Listener {
  let mute: ListenerMute | undefined;
  return (message, done) => {
    if (mute !== undefined) {
      if (!mute.active) mute = undefined;
      else if (mute.passesOver(message)) return done();
    }
    mutes.takeMute(); // a drop made outside a listener call (a retained message) is not this one's
    listener(message, ignore);
    mute = mutes.takeMute() ?? mute;
    done();
  };
}

/** False only for filters whose first level is a literal starting with `$` (e.g. `$SYS/#`). */
function canMatchPlainTopics(filter: string): boolean {
  return !filter.startsWith('$');
}
