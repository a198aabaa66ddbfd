import { afterEach, describe, expect, it } from 'vitest';
import { WeirError } from '../../../../src/errors.js';
import { GroupCoordinator } from '../../../../src/kafka/server/groups/coordinator.js';
import { findCoordinator } from '../../../../src/kafka/server/groups/admin.js';
import type { OffsetCommitInput } from '../../../../src/kafka/server/groups/types.js';
import { openTestStore, tempDir } from '../../../helpers/store.js';
import { flush, joinNow, joinReq, makeCoordinator, syncNow, track } from './helpers.js';

function commit(fields: Partial<OffsetCommitInput> & { offsets?: [string, number, number, string | null][] }): OffsetCommitInput {
  const offsets = fields.offsets ?? [['t', 0, 5, 'meta']];
  const topics = [...new Set(offsets.map((o) => o[0]))].map((name) => ({
    name,
    partitions: offsets.filter((o) => o[0] === name).map(([, partitionIndex, committedOffset, committedMetadata]) => ({ partitionIndex, committedOffset, committedLeaderEpoch: 3, committedMetadata })),
  }));
  return { groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null, topics, ...fields };
}

const codesOf = (r: { topics: { partitions: { errorCode: number }[] }[] }): number[] => r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));

describe('OffsetCommit / OffsetFetch', () => {
  it('a standalone consumer (generation -1) commits; metadata comes back unchanged; unknown partitions fetch -1', async () => {
    const { coordinator } = makeCoordinator();
    const meta = 'ünïcødé {"k":1}';
    expect(codesOf(await coordinator.commitOffsets(commit({ offsets: [['t', 0, 5, meta], ['t', 1, 9, null]] })))).toEqual([0, 0]);
    expect(coordinator.fetchOffsets({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 1, 2] }, { name: 'zz', partitionIndexes: [0] }] })).toEqual({
      errorCode: 0,
      topics: [
        { name: 't', partitions: [
          { partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: 3, metadata: meta, errorCode: 0 },
          { partitionIndex: 1, committedOffset: 9, committedLeaderEpoch: 3, metadata: '', errorCode: 0 },
          { partitionIndex: 2, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
        ] },
        { name: 'zz', partitions: [{ partitionIndex: 0, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 }] },
      ],
    });
    const all = coordinator.fetchOffsets({ groupId: 'g', topics: null });
    expect(all.topics.map((t) => [t.name, t.partitions.map((p) => p.committedOffset)])).toEqual([['t', [5, 9]]]);
    expect(coordinator.group('g')).toBeUndefined(); // offsets-only groups live in the store
  });

  it('per-partition UNKNOWN_TOPIC_OR_PARTITION (3) and OFFSET_METADATA_TOO_LARGE (12); the rest commit', async () => {
    const { coordinator, store } = makeCoordinator({ maxOffsetMetadataBytes: 8 });
    const r = await coordinator.commitOffsets(commit({ offsets: [['t', 0, 1, 'ok'], ['t', 9, 1, null], ['nope', 0, 1, null], ['other', 0, 1, '123456789']] }));
    expect(codesOf(r)).toEqual([0, 3, 3, 12]);
    expect(store.fetchGroupOffsets('g').map((o) => `${o.topic}/${o.partition}`)).toEqual(['t/0']);
  });

  it('members: NONE when Stable or PreparingRebalance, 27 while CompletingRebalance, 22 stale generation, 25 non-members', async () => {
    const { coordinator } = makeCoordinator();
    const a = await joinNow(coordinator);
    const as = (generationId: number, memberId = a.memberId): OffsetCommitInput => commit({ generationId, memberId });
    expect(codesOf(await coordinator.commitOffsets(as(1)))).toEqual([27]);
    await syncNow(coordinator, a.memberId, 1);
    expect(codesOf(await coordinator.commitOffsets(as(1)))).toEqual([0]);
    expect(codesOf(await coordinator.commitOffsets(as(0)))).toEqual([22]);
    expect(codesOf(await coordinator.commitOffsets(as(1, 'stranger')))).toEqual([25]);
    // A standalone commit into a group with live members is refused, as in Kafka.
    expect(codesOf(await coordinator.commitOffsets(as(-1, '')))).toEqual([25]);
    track(coordinator.joinGroup(joinReq({ clientId: 'b' })));
    expect(coordinator.group('g')?.state).toBe('PreparingRebalance');
    expect(codesOf(await coordinator.commitOffsets(as(1)))).toEqual([0]);
    // A group this coordinator does not hold: only generation -1 may commit.
    expect(codesOf(await coordinator.commitOffsets(commit({ groupId: 'gone', generationId: 4, memberId: 'm' })))).toEqual([22]);
    expect(codesOf(await coordinator.commitOffsets(commit({ groupId: '' })))).toEqual([24]);
    await flush();
  });

  it('a store failure is COORDINATOR_NOT_AVAILABLE (15) when retriable, UNKNOWN_SERVER_ERROR (-1) otherwise', async () => {
    const { coordinator, store } = makeCoordinator();
    store.failNext = new WeirError('STORE_CLOSED', 'closing');
    expect(codesOf(await coordinator.commitOffsets(commit({})))).toEqual([15]);
    store.failNext = new WeirError('INVALID_ARGUMENT', 'bad');
    expect(codesOf(await coordinator.commitOffsets(commit({})))).toEqual([-1]);
  });

  it('a store that fails to read answers 15 (retriable) instead of closing the connection', async () => {
    const { coordinator, store } = makeCoordinator();
    const closed = (): never => {
      throw new WeirError('STORE_CLOSED', 'closing');
    };
    store.offsets = closed;
    store.fetchGroupOffsets = closed;
    expect(codesOf(await coordinator.commitOffsets(commit({})))).toEqual([15]);
    expect(coordinator.fetchOffsets({ groupId: 'g', topics: null })).toEqual({ errorCode: 15, topics: [] });
  });

  describe('with the LMDB store', () => {
    let cleanup: (() => void) | undefined;
    afterEach(() => cleanup?.());

    it('a commit is durable before it is answered: a reopened store has it', async () => {
      const tmp = tempDir();
      cleanup = tmp.cleanup;
      let store = await openTestStore(tmp.dir);
      await store.createTopic('t', { partitions: 2 });
      const coordinator = new GroupCoordinator({ store });
      expect(codesOf(await coordinator.commitOffsets(commit({ offsets: [['t', 1, 42, 'm']] })))).toEqual([0]);
      coordinator.close();
      await store.close();
      store = await openTestStore(tmp.dir);
      const again = new GroupCoordinator({ store });
      expect(again.fetchOffsets({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [1] }] }).topics[0]?.partitions[0]).toMatchObject({ committedOffset: 42, metadata: 'm', committedLeaderEpoch: 3 });
      expect(again.listGroups()).toEqual([{ groupId: 'g', protocolType: '', groupState: 'Empty' }]);
      again.close();
      await store.close();
    });
  });
});

describe('ListGroups / DescribeGroups / FindCoordinator', () => {
  it('lists in-memory and offsets-only groups with state and type filters', async () => {
    const { coordinator } = makeCoordinator();
    await coordinator.commitOffsets(commit({ groupId: 'old' }));
    const a = await joinNow(coordinator);
    await syncNow(coordinator, a.memberId, 1);
    expect(coordinator.listGroups()).toEqual([
      { groupId: 'old', protocolType: '', groupState: 'Empty' },
      { groupId: 'g', protocolType: 'consumer', groupState: 'Stable' },
    ]);
    expect(coordinator.listGroups(['stable']).map((g) => g.groupId)).toEqual(['g']);
    expect(coordinator.listGroups([], ['Classic']).map((g) => g.groupId)).toEqual(['old', 'g']);
    expect(coordinator.listGroups([], ['consumer'])).toEqual([]);
  });

  it('describes Stable groups with metadata and assignments, others without; unknown ids are Dead', async () => {
    const { coordinator } = makeCoordinator();
    await coordinator.commitOffsets(commit({ groupId: 'old' }));
    const a = await joinNow(coordinator, { clientId: 'cli' });
    expect(coordinator.describeGroups(['g'])[0]).toMatchObject({ groupState: 'CompletingRebalance', protocolData: '', members: [{ memberId: a.memberId, memberMetadata: Buffer.alloc(0) }] });
    await syncNow(coordinator, a.memberId, 1, [{ memberId: a.memberId, assignment: Buffer.from('as') }]);
    const [g, old, none, bad] = coordinator.describeGroups(['g', 'old', 'none', '']);
    expect(g).toEqual({
      errorCode: 0, groupId: 'g', groupState: 'Stable', protocolType: 'consumer', protocolData: 'range',
      members: [{ memberId: a.memberId, groupInstanceId: null, clientId: 'cli', clientHost: '/127.0.0.1', memberMetadata: Buffer.from('meta'), memberAssignment: Buffer.from('as') }],
    });
    expect(old).toMatchObject({ errorCode: 0, groupState: 'Empty', members: [] });
    expect(none).toMatchObject({ errorCode: 0, groupState: 'Dead' });
    expect(bad).toMatchObject({ errorCode: 24 });
  });

  it('FindCoordinator: Weir for every group key and every transactional id; other key types refused', () => {
    const broker = { nodeId: 7, host: '127.0.0.1', port: 19092, clusterId: 'x' };
    expect(findCoordinator(['a', 'b'], 0, broker)).toEqual([
      { key: 'a', nodeId: 7, host: '127.0.0.1', port: 19092, errorCode: 0, errorMessage: null },
      { key: 'b', nodeId: 7, host: '127.0.0.1', port: 19092, errorCode: 0, errorMessage: null },
    ]);
    expect(findCoordinator(['tx'], 1, broker)).toEqual([{ key: 'tx', nodeId: 7, host: '127.0.0.1', port: 19092, errorCode: 0, errorMessage: null }]);
    expect(findCoordinator(['share'], 2, broker)[0]).toMatchObject({ errorCode: 42, nodeId: -1 });
  });
});
