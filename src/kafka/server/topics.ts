/**
 * Topic lookup with Kafka's `auto.create.topics.enable` (KIP-487 lets a Metadata request opt
 * out). Creation is the store's shared auto-create: concurrent requests share one createTopic.
 */
import { TopicAutoCreator } from '../../store/auto-create.js';
import type { TopicAdmin } from '../../store/types.js';

export class TopicResolver {
  private readonly store: TopicAdmin;
  /** Undefined when auto-create is off. */
  private readonly autoCreate: TopicAutoCreator | undefined;

  constructor(store: TopicAdmin, autoCreate: boolean) {
    this.store = store;
    this.autoCreate = autoCreate ? new TopicAutoCreator(store) : undefined;
  }

  /**
   * Resolves true when the topic exists (creating it when allowed), false when it does not.
   * Throws the store's error for a name it refuses (INVALID_TOPIC_NAME).
   */
  async ensure(name: string, allowAutoCreate = true): Promise<boolean> {
    if (this.store.hasTopic(name)) return true;
    if (this.autoCreate === undefined || !allowAutoCreate) return false;
    await this.autoCreate.ensure(name);
    return true;
  }
}
