/**
 * Retained messages [MQTT-3.3.1-5]: one per topic, on disk; in memory only the set of topics,
 * so a new subscriber's filter is matched without reading every payload. At most `max` topics
 * are retained: past the cap a retained PUBLISH on a new topic is delivered but not retained
 * (counted and logged); replacing or deleting an existing one always works.
 */
import { Readable } from 'node:stream';
import type { Logger } from '../../../src/logger.js';
import type { KvNamespace } from '../../../src/store/types.js';
import { keyPart, plain } from './keys.js';
import { WarnLimiter } from '../warn-limiter.js';
import { topicMatcher } from './qlobber.js';

interface StoredRetained {
  topic: string;
  packet: Record<string, unknown>;
}

export class RetainedMessages {
  private readonly topics = new Set<string>();
  refused = 0;
  private readonly warning: WarnLimiter;

  constructor(
    private readonly kv: KvNamespace,
    private readonly max: number,
    private readonly log: Logger,
  ) {
    this.warning = new WarnLimiter(log);
    for (const { value } of kv.getRange(['r'])) this.topics.add((value as StoredRetained).topic);
  }

  get size(): number {
    return this.topics.size;
  }

  /** The topics with a retained message (to seed the ingest's own cap check after a restart). */
  topicNames(): IterableIterator<string> {
    return this.topics.values();
  }

  async store(packet: { topic: string; payload: Buffer | string }): Promise<void> {
    const key = ['r', keyPart(packet.topic)];
    // [MQTT-3.3.1-10] a zero-length retained payload removes the topic's retained message.
    if (packet.payload.length === 0) {
      if (!this.topics.delete(packet.topic)) return;
      await this.kv.remove(key);
      return;
    }
    if (!this.topics.has(packet.topic) && this.topics.size >= this.max) {
      this.refused++;
      this.warning.warn({ topic: packet.topic, max: this.max, refused: this.refused }, 'not retaining the message: mqtt.max_retained_messages reached');
      return;
    }
    this.topics.add(packet.topic);
    await this.kv.put(key, { topic: packet.topic, packet: plain(packet) } satisfies StoredRetained);
  }

  /** Retained messages matching any of `patterns`, each once, read from disk as the stream is consumed. */
  stream(patterns: readonly string[]): Readable {
    const matcher = topicMatcher(patterns);
    const matched = [...this.topics].filter((topic) => matcher.test(topic));
    const kv = this.kv;
    return Readable.from((function* () {
      for (const topic of matched) {
        const stored = kv.get(['r', keyPart(topic)]) as StoredRetained | undefined;
        if (stored !== undefined) yield stored.packet;
      }
    })());
  }
}
