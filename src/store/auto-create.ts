/**
 * Creating a topic on first use: Kafka's `auto.create.topics.enable`, MQTT's
 * `mqtt.auto_create_topics`, the mirror's dead-letter topic. Concurrent requests for the same missing topic share one createTopic
 * call, and a topic another caller created meanwhile (TOPIC_ALREADY_EXISTS) counts as there. The
 * store gives concurrent creates of different topics partitions of their own, so nothing here
 * serializes them.
 */
import { isWeirError } from '../errors.js';
import type { TopicAdmin } from './types.js';

export type TopicCreator = Pick<TopicAdmin, 'hasTopic' | 'createTopic'>;

export interface AutoCreateOptions {
  /** Partitions of each created topic (the store's default otherwise). */
  partitions?: number;
  /** Topic configs the created topics get (the broker defaults otherwise). */
  configs?: Readonly<Record<string, string>>;
  /** Told once per topic this creator made, not for one that was there or made by another. */
  onCreated?: (topic: string) => void;
}

export class TopicAutoCreator {
  private readonly creating = new Map<string, Promise<void>>();

  constructor(
    private readonly store: TopicCreator,
    private readonly options: AutoCreateOptions = {},
  ) {}

  /** Resolves once `topic` exists; rejects with the store's refusal (INVALID_TOPIC_NAME, a topic limit…). */
  ensure(topic: string): Promise<void> {
    if (this.store.hasTopic(topic)) return Promise.resolve();
    let pending = this.creating.get(topic);
    if (pending === undefined) {
      pending = this.create(topic).finally(() => this.creating.delete(topic));
      this.creating.set(topic, pending);
    }
    return pending;
  }

  private async create(topic: string): Promise<void> {
    try {
      await this.store.createTopic(topic, { partitions: this.options.partitions, configs: { ...this.options.configs } });
    } catch (err) {
      if (isWeirError(err, 'TOPIC_ALREADY_EXISTS')) return;
      throw err;
    }
    this.options.onCreated?.(topic);
  }
}
