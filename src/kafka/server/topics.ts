/**
 * Topic lookup with Kafka's `auto.create.topics.enable` (KIP-487 lets a Metadata request opt
 * out). Concurrent requests for the same missing topic share one createTopic call.
 */
import { isWeirError } from '../../errors.js';
import type { LogStore } from '../../store/types.js';

export class TopicResolver {
  private readonly creating = new Map<string, Promise<void>>();
  private readonly store: LogStore;
  private readonly autoCreate: boolean;

  constructor(store: LogStore, autoCreate: boolean) {
    this.store = store;
    this.autoCreate = autoCreate;
  }

  /**
   * Resolves true when the topic exists (creating it when allowed), false when it does not.
   * Throws the store's error for a name it refuses (INVALID_TOPIC_NAME).
   */
  async ensure(name: string, allowAutoCreate = true): Promise<boolean> {
    if (this.store.hasTopic(name)) return true;
    if (!this.autoCreate || !allowAutoCreate) return false;
    let pending = this.creating.get(name);
    if (pending === undefined) {
      pending = this.store
        .createTopic(name)
        .then(() => undefined)
        .catch((err: unknown) => {
          if (!isWeirError(err, 'TOPIC_ALREADY_EXISTS')) throw err;
        })
        .finally(() => this.creating.delete(name));
      this.creating.set(name, pending);
    }
    await pending;
    return true;
  }
}
