import { describe, expect, it } from 'vitest';
import { formatDescription } from '../../src/cli/commands/topics-describe.js';
import { kafkaTopicDefaults } from '../../src/store/index.js';
import type { TopicDescription } from '../../src/store/types.js';

const defaults = kafkaTopicDefaults();
const partition = { partition: 0, logStartOffset: 0, highWatermark: 10, sizeBytes: 2048, segments: 2 };
const topic = (partitions: TopicDescription['partitions']): TopicDescription => ({ name: 't', partitions, config: defaults, overrides: {}, createdAt: 0 });

describe('weir topics describe: the partition line', () => {
  it("shows the log cleaner's columns on a partition of a compacted topic", () => {
    const compaction = { dirtyRatio: 0.4567, lastCompactedAt: Date.UTC(2026, 11, 7, 4), bytesReclaimed: 3 * 1024 * 1024, behind: true };
    expect(formatDescription(topic([{ ...partition, compaction }]), defaults)).toContain(
      '\tSegments: 2\tDirtyRatio: 0.46\tLastCompacted: 2026-12-07T04:00:00.000Z\tReclaimed: 3.0 MiB\tCleanerBehind: yes\n',
    );
    expect(formatDescription(topic([{ ...partition, compaction: { ...compaction, lastCompactedAt: null, behind: false } }]), defaults)).toContain(
      '\tLastCompacted: never\tReclaimed: 3.0 MiB\tCleanerBehind: no\n',
    );
  });

  it('shows none of them on other topics', () => {
    const text = formatDescription(topic([partition]), defaults);
    expect(text).toContain('\tSize: 2.0 KiB\tSegments: 2\n');
    expect(text).not.toContain('DirtyRatio');
  });
});
