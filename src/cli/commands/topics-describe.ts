import { TOPIC_CONFIG_NAMES, type TopicConfig } from '../../store/topic-config.js';
import type { CompactionStatus, TopicDescription } from '../../store/types.js';
import { withAdmin } from '../kafka-client.js';
import type { CommandSpec } from '../spec.js';
import { STORE_OPTIONS, TOPIC_OPTION, formatSize, isRemote, withStore } from './topics-common.js';
import { remoteDescribe, remoteList } from './topics-remote.js';
import { topicName } from './topics-validate.js';

/**
 * One block per topic, tab-separated like kafka-topics.sh --describe, then the effective configs
 * marked the way kafka-configs.sh --describe --all tells them apart: a value set on the topic is
 * an override (shown with the default it replaces), anything else comes from topic_defaults.
 */
export function formatDescription(d: TopicDescription, defaults: TopicConfig): string {
  const lines = [`Topic: ${d.name}\tPartitionCount: ${d.partitions.length}\tCreated: ${new Date(d.createdAt).toISOString()}`];
  for (const p of d.partitions) {
    lines.push(
      `\tPartition: ${p.partition}\tLogStartOffset: ${p.logStartOffset}\tHighWatermark: ${p.highWatermark}` +
        `\tSize: ${formatSize(p.sizeBytes)}\tSegments: ${p.segments}${p.compaction === undefined ? '' : formatCompaction(p.compaction)}`,
    );
  }
  lines.push(`Configs for topic ${d.name} (override: set on this topic; default: from topic_defaults):`);
  for (const name of TOPIC_CONFIG_NAMES) {
    const source = Object.hasOwn(d.overrides, name) ? `override (default: ${String(defaults[name])})` : 'default';
    lines.push(`\t${name}=${String(d.config[name])}\t${source}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The log cleaner's columns, on partitions of a compacted topic. */
function formatCompaction(c: CompactionStatus): string {
  const last = c.lastCompactedAt === null ? 'never' : new Date(c.lastCompactedAt).toISOString();
  return `\tDirtyRatio: ${c.dirtyRatio.toFixed(2)}\tLastCompacted: ${last}\tReclaimed: ${formatSize(c.bytesReclaimed)}\tCleanerBehind: ${c.behind ? 'yes' : 'no'}`;
}

export const topicsDescribe: CommandSpec = {
  path: ['topics', 'describe'],
  summary: 'Show partitions (log start, high watermark, size) and effective configs',
  description: [
    'For each partition prints the log start offset, the high watermark (one past the last durable offset), the bytes stored and the number of segments; on a compacted topic also the log cleaner\'s dirty ratio, last compaction, bytes reclaimed and whether it is behind; then every topic config with its effective value, marking overrides.',
    'Without --topic, describes every topic.',
  ],
  options: [{ ...TOPIC_OPTION, required: false, doc: `Topic to describe: ${TOPIC_OPTION.doc}`, defaultDoc: 'all topics' }, ...STORE_OPTIONS],
  examples: ['weir topics describe --topic sensors', 'weir topics describe --data-dir /var/lib/weir', 'weir topics describe --topic sensors --bootstrap-server 127.0.0.1:9092'],
  async run(values, ctx) {
    const name = values.topic === undefined ? undefined : topicName(values, topicsDescribe);
    if (isRemote(values)) {
      const text = await withAdmin(values, ctx, 'weir-topics', `describing ${name ?? 'topics'}`, async (admin) => {
        const names = name === undefined ? await remoteList(admin) : [name];
        const out: string[] = [];
        for (const n of names) out.push(await remoteDescribe(admin, n));
        return out.join('\n');
      });
      ctx.stdout.write(text);
      return 0;
    }
    return withStore(values, ctx, false, async ({ store, options }) => {
      const names = name === undefined ? [...store.listTopics()].sort() : [name];
      ctx.stdout.write(names.map((n) => formatDescription(store.describeTopic(n), options.topicDefaults)).join('\n'));
      return 0;
    });
  },
};
