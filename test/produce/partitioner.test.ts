import { describe, expect, it } from 'vitest';
import { WeirError } from '../../src/errors.js';
import { DefaultPartitioner, type PartitionCounts } from '../../src/produce/partitioner.js';

/** Topics and their partition counts, as the store would report them. */
function topics(counts: Record<string, number>): PartitionCounts & { counts: Record<string, number> } {
  return {
    counts,
    hasTopic: (name) => name in counts,
    partitionCount: (name) => {
      const count = counts[name];
      if (count === undefined) throw new WeirError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist`);
      return count;
    },
  };
}

describe('DefaultPartitioner', () => {
  it('partitions keys like Java', () => {
    const partitioner = new DefaultPartitioner(topics({ p6: 6 }));
    // Java: Utils.toPositive(Utils.murmur2("foobar".getBytes())) % 6 == 4 (murmur2 = -790332482).
    expect(partitioner.partitionFor('p6', Buffer.from('foobar'))).toBe((-790332482 & 0x7fffffff) % 6);
  });

  it('sticks null keys to one partition for a batch, then moves to another', () => {
    const partitioner = new DefaultPartitioner(topics({ p6: 6 }));
    const first = partitioner.partitionFor('p6', null);
    for (let i = 1; i < 100; i++) expect(partitioner.partitionFor('p6', null)).toBe(first);
    expect(partitioner.partitionFor('p6', null)).not.toBe(first);
  });

  it('leaves a sticky partition the topic no longer has (deleted and created again with fewer)', () => {
    const known = topics({ t: 6 });
    let partitioner: DefaultPartitioner;
    do partitioner = new DefaultPartitioner(known);
    while (partitioner.partitionFor('t', null) === 0);
    known.counts['t'] = 1;
    expect(partitioner.partitionFor('t', null)).toBe(0);
  });

  it('refuses a topic that does not exist', () => {
    const partitioner = new DefaultPartitioner(topics({}));
    expect(() => partitioner.partitionFor('missing', null)).toThrow(expect.objectContaining({ code: 'UNKNOWN_TOPIC_OR_PARTITION' }));
    expect(() => partitioner.partitionFor('missing', Buffer.from('k'))).toThrow(expect.objectContaining({ code: 'UNKNOWN_TOPIC_OR_PARTITION' }));
  });

  it('forgets deleted topics once enough have been seen', () => {
    const known = topics({});
    const partitioner = new DefaultPartitioner(known);
    for (let i = 0; i < 1000; i++) {
      known.counts[`t${i}`] = 1;
      partitioner.partitionFor(`t${i}`, null);
      delete known.counts[`t${i}`];
    }
    expect((partitioner as unknown as { sticky: Map<string, unknown> }).sticky.size).toBeLessThanOrEqual(64);
  });
});
