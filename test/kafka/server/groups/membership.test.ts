import { describe, expect, it } from 'vitest';
import { flush, joinNow, joinReq, makeCoordinator, syncNow, track } from './helpers.js';

const proto = (name: string, metadata = name): { name: string; metadata: Buffer } => ({ name, metadata: Buffer.from(metadata) });

describe('JoinGroup', () => {
  it('KIP-394: a v4+ first join gets MEMBER_ID_REQUIRED (79) with an id, and the rejoin with it completes', async () => {
    const { coordinator } = makeCoordinator();
    const first = await joinNow(coordinator, { requireKnownMemberId: true });
    expect(first.errorCode).toBe(79);
    expect(first.memberId).toBe('c-1');
    const second = await joinNow(coordinator, { requireKnownMemberId: true, memberId: first.memberId });
    expect(second).toMatchObject({ errorCode: 0, generationId: 1, memberId: 'c-1', leader: 'c-1', protocolType: 'consumer', protocolName: 'range' });
    expect(second.members).toEqual([{ memberId: 'c-1', groupInstanceId: null, metadata: Buffer.from('meta') }]);
    expect(coordinator.group('g')?.state).toBe('CompletingRebalance');
  });

  it('before v4 a first join is admitted at once', async () => {
    const { coordinator } = makeCoordinator();
    expect(await joinNow(coordinator)).toMatchObject({ errorCode: 0, generationId: 1, memberId: 'c-1' });
  });

  it('the initial rebalance delay puts concurrent joiners in one generation; only the leader gets the member list', async () => {
    const { coordinator, clock } = makeCoordinator({ initialRebalanceDelayMs: 3_000 });
    const a = track(coordinator.joinGroup(joinReq({ clientId: 'a' })));
    clock.advance(2_000);
    const b = track(coordinator.joinGroup(joinReq({ clientId: 'b' })));
    clock.advance(1_000); // first delay ends, but b arrived during it: wait one more delay
    await flush();
    expect(a.done).toBe(false);
    clock.advance(3_000);
    await flush();
    expect(a.value).toMatchObject({ errorCode: 0, generationId: 1, leader: 'a-1' });
    expect(a.value.members.map((m) => m.memberId)).toEqual(['a-1', 'b-2']);
    expect(b.value).toMatchObject({ errorCode: 0, generationId: 1, leader: 'a-1', members: [] });
  });

  it('selects the protocol by vote among those every member supports', async () => {
    const { coordinator, clock } = makeCoordinator({ initialRebalanceDelayMs: 100 });
    const a = track(coordinator.joinGroup(joinReq({ clientId: 'a', protocols: [proto('range'), proto('roundrobin'), proto('sticky')] })));
    const b = track(coordinator.joinGroup(joinReq({ clientId: 'b', protocols: [proto('roundrobin'), proto('range')] })));
    const c = track(coordinator.joinGroup(joinReq({ clientId: 'c', protocols: [proto('sticky'), proto('roundrobin'), proto('range')] })));
    clock.advance(1_000);
    await flush();
    // sticky is not supported by b; a votes range, b roundrobin, c roundrobin (its first candidate).
    expect(a.value.protocolName).toBe('roundrobin');
    expect(a.value.members.map((m) => m.metadata.toString())).toEqual(['roundrobin', 'roundrobin', 'roundrobin']);
    expect(c.value.protocolName).toBe('roundrobin');
    expect(b.value.generationId).toBe(1);
  });

  it('INCONSISTENT_GROUP_PROTOCOL (23) for another protocol type or no common protocol', async () => {
    const { coordinator } = makeCoordinator();
    await joinNow(coordinator);
    expect((await joinNow(coordinator, { protocolType: 'connect' })).errorCode).toBe(23);
    expect((await joinNow(coordinator, { protocols: [proto('other')] })).errorCode).toBe(23);
    expect((await joinNow(coordinator, { groupId: 'h', protocols: [] })).errorCode).toBe(23);
    expect(coordinator.group('h')).toBeUndefined();
  });

  it('INVALID_GROUP_ID (24), INVALID_SESSION_TIMEOUT (26), UNKNOWN_MEMBER_ID (25) for a member id of an unknown group', async () => {
    const { coordinator } = makeCoordinator();
    expect((await joinNow(coordinator, { groupId: '' })).errorCode).toBe(24);
    expect((await joinNow(coordinator, { sessionTimeoutMs: 1_000 })).errorCode).toBe(26);
    expect((await joinNow(coordinator, { sessionTimeoutMs: 3_600_000 })).errorCode).toBe(26);
    expect((await joinNow(coordinator, { memberId: 'ghost' })).errorCode).toBe(25);
    expect([...coordinator.allGroups()]).toEqual([]);
  });

  it('a follower rejoining a Stable group unchanged gets the current generation; the leader rejoining forces a rebalance', async () => {
    const { coordinator, clock } = makeCoordinator({ initialRebalanceDelayMs: 10 });
    const a = track(coordinator.joinGroup(joinReq({ clientId: 'a' })));
    const b = track(coordinator.joinGroup(joinReq({ clientId: 'b' })));
    clock.advance(100);
    await flush();
    await Promise.all([syncNow(coordinator, 'a-1', 1, []), syncNow(coordinator, 'b-2', 1)]);
    expect(coordinator.group('g')?.state).toBe('Stable');
    expect(await joinNow(coordinator, { memberId: 'b-2' })).toMatchObject({ errorCode: 0, generationId: 1, members: [] });
    expect(coordinator.group('g')?.state).toBe('Stable');
    const again = track(coordinator.joinGroup(joinReq({ memberId: 'a-1' })));
    expect(coordinator.group('g')?.state).toBe('PreparingRebalance');
    expect(coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: 'b-2', groupInstanceId: null })).toBe(27);
    const bAgain = await joinNow(coordinator, { memberId: 'b-2' });
    await flush();
    expect(again.value.generationId).toBe(2);
    expect(bAgain.generationId).toBe(2);
    expect(a.value.generationId).toBe(1);
    expect(b.value.generationId).toBe(1);
  });

  it('the rebalance timeout drops members that did not rejoin', async () => {
    const { coordinator, clock } = makeCoordinator({ initialRebalanceDelayMs: 10 });
    const a = track(coordinator.joinGroup(joinReq({ clientId: 'a', rebalanceTimeoutMs: 20_000 })));
    track(coordinator.joinGroup(joinReq({ clientId: 'b', rebalanceTimeoutMs: 20_000 })));
    clock.advance(100);
    await flush();
    await Promise.all([syncNow(coordinator, 'a-1', 1), syncNow(coordinator, 'b-2', 1)]);
    const c = track(coordinator.joinGroup(joinReq({ clientId: 'c', rebalanceTimeoutMs: 20_000 })));
    const aRejoin = track(coordinator.joinGroup(joinReq({ memberId: 'a-1', rebalanceTimeoutMs: 20_000 })));
    // b keeps heartbeating but never rejoins: heartbeats keep its session, not its place.
    for (let i = 0; i < 6; i++) {
      clock.advance(3_000);
      expect(coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: 'b-2', groupInstanceId: null })).toBe(27);
    }
    await flush();
    expect(c.done).toBe(false);
    clock.advance(2_000);
    await flush();
    expect(aRejoin.value).toMatchObject({ errorCode: 0, generationId: 2, leader: 'a-1' });
    expect(aRejoin.value.members.map((m) => m.memberId)).toEqual(['a-1', 'c-3']);
    expect(c.value.generationId).toBe(2);
    expect(coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: 'b-2', groupInstanceId: null })).toBe(25);
    expect(a.value.generationId).toBe(1);
  });

  it('a second JoinGroup from the same member answers the first with REBALANCE_IN_PROGRESS', async () => {
    const { coordinator, clock } = makeCoordinator({ initialRebalanceDelayMs: 100 });
    const first = await joinNow(coordinator, { requireKnownMemberId: true });
    const one = track(coordinator.joinGroup(joinReq({ memberId: first.memberId })));
    const two = track(coordinator.joinGroup(joinReq({ memberId: first.memberId })));
    await flush();
    expect(one.value.errorCode).toBe(27);
    clock.advance(100);
    await flush();
    expect(two.value).toMatchObject({ errorCode: 0, generationId: 1 });
    expect(coordinator.waiting).toBe(0);
  });
});

describe('SyncGroup', () => {
  async function twoMembers(): Promise<ReturnType<typeof makeCoordinator>> {
    const made = makeCoordinator({ initialRebalanceDelayMs: 10 });
    track(made.coordinator.joinGroup(joinReq({ clientId: 'a' })));
    track(made.coordinator.joinGroup(joinReq({ clientId: 'b' })));
    made.clock.advance(100);
    await flush();
    return made;
  }

  it('followers wait for the leader; each member gets its own assignment; later syncs answer at once', async () => {
    const { coordinator } = await twoMembers();
    const follower = track(syncNow(coordinator, 'b-2', 1));
    await flush();
    expect(follower.done).toBe(false);
    const leader = await syncNow(coordinator, 'a-1', 1, [
      { memberId: 'a-1', assignment: Buffer.from('A') },
      { memberId: 'b-2', assignment: Buffer.from('B') },
    ]);
    await flush();
    expect(leader).toMatchObject({ errorCode: 0, assignment: Buffer.from('A'), protocolType: 'consumer', protocolName: 'range' });
    expect(follower.value.assignment).toEqual(Buffer.from('B'));
    expect(coordinator.group('g')?.state).toBe('Stable');
    expect((await syncNow(coordinator, 'b-2', 1)).assignment).toEqual(Buffer.from('B'));
  });

  it('a member the leader left out gets an empty assignment', async () => {
    const { coordinator } = await twoMembers();
    const follower = track(syncNow(coordinator, 'b-2', 1));
    await syncNow(coordinator, 'a-1', 1, [{ memberId: 'a-1', assignment: Buffer.from('A') }, { memberId: 'nobody', assignment: Buffer.from('X') }]);
    await flush();
    expect(follower.value).toMatchObject({ errorCode: 0, assignment: Buffer.alloc(0) });
  });

  it('ILLEGAL_GENERATION (22), UNKNOWN_MEMBER_ID (25), INCONSISTENT_GROUP_PROTOCOL (23, v5)', async () => {
    const { coordinator } = await twoMembers();
    expect((await syncNow(coordinator, 'b-2', 7)).errorCode).toBe(22);
    expect((await syncNow(coordinator, 'zz', 1)).errorCode).toBe(25);
    const wrong = await coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: 'b-2', groupInstanceId: null, protocolType: 'consumer', protocolName: 'sticky', assignments: [] });
    expect(wrong.errorCode).toBe(23);
    expect((await coordinator.syncGroup({ groupId: 'nope', generationId: 1, memberId: 'b-2', groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] })).errorCode).toBe(25);
  });

  it('a join during CompletingRebalance sends a parked follower REBALANCE_IN_PROGRESS (27); sync while preparing is 27', async () => {
    const { coordinator } = await twoMembers();
    const follower = track(syncNow(coordinator, 'b-2', 1));
    const c = track(coordinator.joinGroup(joinReq({ clientId: 'c' })));
    await flush();
    expect(follower.value.errorCode).toBe(27);
    expect(coordinator.group('g')?.state).toBe('PreparingRebalance');
    expect((await syncNow(coordinator, 'a-1', 1)).errorCode).toBe(27);
    expect(c.done).toBe(false);
  });
});

describe('Heartbeat and session timeouts', () => {
  it('answers NONE when Stable or CompletingRebalance, 27 while preparing, 22 for another generation, 25 for strangers', async () => {
    const { coordinator } = makeCoordinator();
    const a = await joinNow(coordinator);
    const hb = (generationId: number, memberId = a.memberId): number => coordinator.heartbeat({ groupId: 'g', generationId, memberId, groupInstanceId: null });
    expect(hb(1)).toBe(0);
    expect(hb(0)).toBe(22);
    expect(hb(1, 'x')).toBe(25);
    expect(coordinator.heartbeat({ groupId: 'none', generationId: 1, memberId: 'x', groupInstanceId: null })).toBe(25);
    await syncNow(coordinator, a.memberId, 1);
    expect(hb(1)).toBe(0);
    track(coordinator.joinGroup(joinReq({ clientId: 'b' })));
    expect(hb(1)).toBe(27);
  });

  it('a session that expires removes the member and rebalances the rest', async () => {
    const { coordinator, clock } = makeCoordinator({ initialRebalanceDelayMs: 10 });
    track(coordinator.joinGroup(joinReq({ clientId: 'a', sessionTimeoutMs: 10_000 })));
    track(coordinator.joinGroup(joinReq({ clientId: 'b', sessionTimeoutMs: 10_000 })));
    clock.advance(100);
    await flush();
    await Promise.all([syncNow(coordinator, 'a-1', 1), syncNow(coordinator, 'b-2', 1)]);
    for (let i = 0; i < 2; i++) {
      clock.advance(4_000);
      expect(coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: 'a-1', groupInstanceId: null })).toBe(0);
    }
    clock.advance(4_000); // b's 10 s session has run out
    expect(coordinator.group('g')?.members.has('b-2')).toBe(false);
    expect(coordinator.group('g')?.state).toBe('PreparingRebalance');
    expect(coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: 'a-1', groupInstanceId: null })).toBe(27);
    expect(await joinNow(coordinator, { memberId: 'a-1' })).toMatchObject({ errorCode: 0, generationId: 2, members: [{ memberId: 'a-1' }] });
  });

  it('a member parked in JoinGroup is not expired by its session timeout while others take long', async () => {
    const { coordinator, clock } = makeCoordinator({ initialRebalanceDelayMs: 10 });
    track(coordinator.joinGroup(joinReq({ clientId: 'a', sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 60_000 })));
    track(coordinator.joinGroup(joinReq({ clientId: 'b', sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 60_000 })));
    clock.advance(100);
    await flush();
    await Promise.all([syncNow(coordinator, 'a-1', 1), syncNow(coordinator, 'b-2', 1)]);
    const a = track(coordinator.joinGroup(joinReq({ memberId: 'a-1', sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 60_000 })));
    for (let i = 0; i < 8; i++) {
      clock.advance(5_000);
      expect(coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: 'b-2', groupInstanceId: null })).toBe(27);
    }
    const b = await joinNow(coordinator, { memberId: 'b-2', sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 60_000 });
    await flush();
    expect(a.value).toMatchObject({ errorCode: 0, generationId: 2 });
    expect(b.generationId).toBe(2);
  });
});

describe('LeaveGroup', () => {
  it('v3+ batch: each member gets its own code; the group rebalances; leaving everyone forgets the group', async () => {
    const { coordinator, clock } = makeCoordinator({ initialRebalanceDelayMs: 10 });
    track(coordinator.joinGroup(joinReq({ clientId: 'a' })));
    track(coordinator.joinGroup(joinReq({ clientId: 'b' })));
    track(coordinator.joinGroup(joinReq({ clientId: 'c', groupInstanceId: 'inst-c' })));
    clock.advance(100);
    await flush();
    const r = coordinator.leaveGroup({ groupId: 'g', members: [{ memberId: 'b-2', groupInstanceId: null }, { memberId: 'x', groupInstanceId: null }, { memberId: '', groupInstanceId: 'inst-c' }] });
    expect(r).toEqual({ errorCode: 0, members: [
      { memberId: 'b-2', groupInstanceId: null, errorCode: 0 },
      { memberId: 'x', groupInstanceId: null, errorCode: 25 },
      { memberId: '', groupInstanceId: 'inst-c', errorCode: 0 },
    ] });
    expect(coordinator.group('g')?.state).toBe('PreparingRebalance');
    expect(coordinator.leaveGroup({ groupId: 'g', members: [{ memberId: 'a-1', groupInstanceId: null }] }).members[0]?.errorCode).toBe(0);
    expect(coordinator.group('g')).toBeUndefined();
    expect(coordinator.leaveGroup({ groupId: 'g', members: [{ memberId: 'a-1', groupInstanceId: null }] }).members[0]?.errorCode).toBe(25);
  });

  it('a member leaving lets a rebalance waiting for it complete', async () => {
    const { coordinator, clock } = makeCoordinator({ initialRebalanceDelayMs: 10 });
    track(coordinator.joinGroup(joinReq({ clientId: 'a' })));
    track(coordinator.joinGroup(joinReq({ clientId: 'b' })));
    clock.advance(100);
    await flush();
    const a = track(coordinator.joinGroup(joinReq({ memberId: 'a-1', protocols: [proto('range', 'changed')] })));
    await flush();
    expect(a.done).toBe(false);
    coordinator.leaveGroup({ groupId: 'g', members: [{ memberId: 'b-2', groupInstanceId: null }] });
    await flush();
    expect(a.value).toMatchObject({ errorCode: 0, generationId: 2, members: [{ memberId: 'a-1', metadata: Buffer.from('changed') }] });
  });
});
