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

  /** The options aedes gives its default mqemitter (aedes.js): concurrency, and [MQTT-4.7.1-3]. */
  constructor(concurrency: number) {
    this.inner = mqemitter({ concurrency, matchEmptyLevels: true });
  }

  /** Subscriptions whose filter can match a topic that does not start with `$`. */
  get plainSubscriptions(): number {
    return this.plainCount;
  }

  on(topic: string, listener: Listener, callback?: () => void): this {
    this.inner.on(topic, listener, callback);
    if (canMatchPlainTopics(topic)) {
      let listeners = this.plain.get(topic);
      if (listeners === undefined) this.plain.set(topic, (listeners = new Map()));
      listeners.set(listener, (listeners.get(listener) ?? 0) + 1);
      this.plainCount++;
    }
    return this;
  }

  removeListener(topic: string, listener: Listener, callback?: () => void): void {
    this.inner.removeListener(topic, listener, () => {
      this.forget(topic, listener);
      callback?.();
    });
  }

  emit(message: Message, callback?: (error?: Error) => void): void {
    if (this.plainCount === 0 && !this.closed && !message.topic.startsWith('$')) {
      callback?.();
      return;
    }
    this.inner.emit(message, callback);
  }

  close(callback: () => void): void {
    this.closed = true; // mqemitter then fails every emit; so do we
    this.inner.close(callback);
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

/** False only for filters whose first level is a literal starting with `$` (e.g. `$SYS/#`). */
function canMatchPlainTopics(filter: string): boolean {
  return !filter.startsWith('$');
}
