/**
 * Finding what to mirror: every partition of every local topic a rule matches gets a durable
 * store cursor named `mirror.<rule>` (from the log start when new) and a pump in its rule.
 */
import { isWeirError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import type { CursorStore, TopicAdmin } from '../../src/store/types.js';
import { renderUpstreamTopic, topicMatcher } from './config.js';
import { PartitionMirror } from './partition.js';
import type { RuleMirror } from './rule.js';

export const CURSOR_PREFIX = 'mirror.';

export class PartitionDiscovery {
  private readonly matchers: ((topic: string) => boolean)[];
  private readonly deadLetterTopics: Set<string>;
  /** rule, topic and partition of what is mirrored already. */
  private readonly known = new Set<string>();

  constructor(
    private readonly store: TopicAdmin & CursorStore,
    private readonly rules: readonly RuleMirror[],
    private readonly deviceId: string,
    private readonly log: Logger,
  ) {
    this.matchers = rules.map((r) => topicMatcher(r.spec.topics));
    this.deadLetterTopics = new Set(rules.map((r) => r.spec.deadLetterTopic));
  }

  /** Finds new matching topics and partitions; registers a cursor for each (from the log start). */
  async run(): Promise<void> {
    for (const [i, rule] of this.rules.entries()) {
      for (const topic of this.store.listTopics()) {
        if (!this.matchers[i]!(topic)) continue;
        // A dead-letter topic is mirrored only when a rule names it exactly.
        if (this.deadLetterTopics.has(topic) && !rule.spec.topics.includes(topic)) continue;
        await this.addTopic(rule, topic);
      }
    }
  }

  private async addTopic(rule: RuleMirror, topic: string): Promise<void> {
    let partitions;
    try {
      partitions = this.store.describeTopic(topic).partitions;
    } catch (err) {
      if (isWeirError(err, 'UNKNOWN_TOPIC_OR_PARTITION')) return;
      throw err;
    }
    const name = CURSOR_PREFIX + rule.spec.name;
    for (const p of partitions) {
      const key = `${rule.spec.name}\u0000${topic}\u0000${p.partition}`;
      if (this.known.has(key)) continue;
      let cursor = this.store.getCursor(name, topic, p.partition);
      if (cursor === undefined) {
        cursor = p.logStartOffset;
        await this.store.setCursor(name, topic, p.partition, cursor);
      }
      this.known.add(key);
      const upstreamTopic = renderUpstreamTopic(rule.spec.upstreamTopic, { device: this.deviceId, topic });
      rule.addPartition(new PartitionMirror({ cursorName: name, topic, partition: p.partition, upstreamTopic, cursor }));
      this.log.info({ rule: rule.spec.name, topic, partition: p.partition, upstreamTopic, cursor }, 'mirroring partition');
    }
  }
}
