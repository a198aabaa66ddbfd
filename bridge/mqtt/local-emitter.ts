/**
 * The message bus aedes delivers PUBLISHes through (its `mq` option): aedes's own default,
 * mqemitter, behind a check that skips topic matching when no subscription can match.
 *
 * mqemitter splits every published topic into levels and walks its subscription trie, even when
 * nobody subscribes, which is the usual case on a gateway whose messages go to the log and on to
 * Kafka: ~3 % of the main thread at 60k msg/s, plus the array of levels each time. aedes itself
 * subscribes only to `$SYS/+/…` filters, and a filter whose first level is a literal starting with
 * `$` can only match topics whose first level is that same word [MQTT-4.7.2-1]. So a topic that
 * does not start with `$`, while every subscription's filter does, has no match, and the emit can
 * answer at once, as mqemitter does for an empty match (synchronously, without arguments).
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
 */
import mqemitter from 'mqemitter';

type Message = mqemitter.Message;
type Listener = (message: Message, done: () => void) => void;

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
  constructor(private readonly concurrency: number, private readonly options: { awaitListeners: boolean } = { awaitListeners: true }) {
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
      given = (message, done) => {
        listener(message, ignore);
        done();
      };
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

/** False only for filters whose first level is a literal starting with `$` (e.g. `$SYS/#`). */
function canMatchPlainTopics(filter: string): boolean {
  return !filter.startsWith('$');
}
