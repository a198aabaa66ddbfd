/** DeleteRecords follows cleanup.policy as Kafka's Partition.deleteRecordsOnLeader does: refused unless the policy deletes. */
import { beforeEach, describe, expect, it } from 'vitest';
import { createDeleteRecordsHandler } from '../../../src/kafka/server/handlers/delete-records.js';
import { storePerTest } from '../../helpers/store-per-test.js';
import { rejectionOf } from '../../helpers/expect-weir.js';

describe('DeleteRecords and cleanup.policy', () => {
  const s = storePerTest();

  beforeEach(async () => {
    for (const [name, policy] of [['latest', 'compact'], ['both', 'compact,delete'], ['plain', 'delete']] as const) {
      await s.store.createTopic(name, { configs: { 'cleanup.policy': policy } });
      await s.store.appendRecords(name, 0, [0, 1, 2, 3].map((i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from('v') })));
    }
  });

  it('the store refuses it on a compact-only topic with POLICY_VIOLATION and Kafka\'s message, and moves nothing', async () => {
    const err = await rejectionOf(s.store.deleteRecords('latest', 0, 2));
    expect(err.code).toBe('POLICY_VIOLATION');
    expect(err.message).toContain('Records of partition latest-0 can not be deleted due to the configured policy');
    expect(s.store.offsets('latest', 0).logStartOffset).toBe(0);
    expect(await s.store.deleteRecords('both', 0, 2)).toBe(2);
    expect(await s.store.deleteRecords('plain', 0, -1)).toBe(4);
  });

  it('Kafka clients get POLICY_VIOLATION (44) for that partition, the others are served', async () => {
    const handler = createDeleteRecordsHandler({ store: s.store });
    const req = {
      timeoutMs: 1000,
      topics: ['latest', 'both'].map((name) => ({ name, partitions: [{ partitionIndex: 0, offset: 3 }] })),
    };
    const res = await handler.handle(req as never, {} as never);
    if (typeof res === 'symbol') throw new Error('DeleteRecords always answers');
    expect(res.topics.map((t) => [t.name, t.partitions[0]!.errorCode, t.partitions[0]!.lowWatermark])).toEqual([['latest', 44, -1], ['both', 0, 3]]);
  });

  it('follows the policy as it is altered', async () => {
    await s.store.alterTopicConfigs('latest', { 'cleanup.policy': 'compact,delete' });
    expect(await s.store.deleteRecords('latest', 0, 1)).toBe(1);
    await s.store.alterTopicConfigs('plain', { 'cleanup.policy': 'compact' });
    expect((await rejectionOf(s.store.deleteRecords('plain', 0, 4))).code).toBe('POLICY_VIOLATION');
  });
});
