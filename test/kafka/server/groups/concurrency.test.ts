import { describe, expect, it } from 'vitest';
import { flush, joinNow, joinReq, makeCoordinator, syncNow, track } from './helpers.js';

describe('concurrent rebalances', () => {
  it('members joining while a Stable group runs never see UNKNOWN_MEMBER_ID (KIP-394 ids survive a generation)', async () => {
    const { coordinator, clock } = makeCoordinator({ initialRebalanceDelayMs: 50 });
    const seen: number[] = [];
    const a1 = await joinNow(coordinator, { clientId: 'a', requireKnownMemberId: true });
    const aJoin = track(coordinator.joinGroup(joinReq({ memberId: a1.memberId, requireKnownMemberId: true })));
    // b and c get their ids while a's first generation is forming, and come back only after it
    // completed without them (Kafka's InitialDelayedJoin does not wait for pending ids).
    const b1 = await joinNow(coordinator, { clientId: 'b', requireKnownMemberId: true });
    const c1 = await joinNow(coordinator, { clientId: 'c', requireKnownMemberId: true });
    clock.advance(200);
    await flush();
    expect(aJoin.value).toMatchObject({ errorCode: 0, generationId: 1, members: [{ memberId: a1.memberId }] });
    const bJoin = track(coordinator.joinGroup(joinReq({ memberId: b1.memberId, requireKnownMemberId: true })));
    // a is told by its heartbeat, while c's id is still pending (so the rebalance waits for c).
    seen.push(coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: a1.memberId, groupInstanceId: null }));
    const aJoin2 = track(coordinator.joinGroup(joinReq({ memberId: a1.memberId })));
    await flush();
    expect(bJoin.done).toBe(false);
    const cJoin = track(coordinator.joinGroup(joinReq({ memberId: c1.memberId, requireKnownMemberId: true })));
    await flush();
    for (const r of [aJoin2, bJoin, cJoin]) {
      seen.push(r.value.errorCode);
      expect(r.value.generationId).toBe(2);
    }
    const leader = aJoin2.value.leader;
    const syncs = [aJoin2, bJoin, cJoin].map((r) =>
      track(syncNow(coordinator, r.value.memberId, 2, r.value.memberId === leader ? r.value.members.map((m) => ({ memberId: m.memberId, assignment: Buffer.from(m.memberId) })) : [])),
    );
    await flush();
    for (const s of syncs) seen.push(s.value.errorCode);
    // d joins the Stable group; everyone learns from heartbeats and rejoins, in any order.
    const d1 = await joinNow(coordinator, { clientId: 'd', requireKnownMemberId: true });
    const dJoin = track(coordinator.joinGroup(joinReq({ memberId: d1.memberId, requireKnownMemberId: true })));
    const rejoins = [bJoin, aJoin2, cJoin].map((r) => {
      seen.push(coordinator.heartbeat({ groupId: 'g', generationId: 2, memberId: r.value.memberId, groupInstanceId: null }));
      return track(coordinator.joinGroup(joinReq({ memberId: r.value.memberId })));
    });
    await flush();
    for (const r of [...rejoins, dJoin]) {
      seen.push(r.value.errorCode);
      expect(r.value.generationId).toBe(3);
    }
    expect(seen).not.toContain(25);
    expect(seen.filter((c) => c !== 0 && c !== 27)).toEqual([]);
  });

  it('a KIP-394 id that never comes back expires after the session timeout and stops blocking the rebalance', async () => {
    const { coordinator, clock } = makeCoordinator();
    const a1 = await joinNow(coordinator, { clientId: 'a', requireKnownMemberId: true });
    await joinNow(coordinator, { clientId: 'ghost', requireKnownMemberId: true, sessionTimeoutMs: 6_000 });
    const a = track(coordinator.joinGroup(joinReq({ memberId: a1.memberId, requireKnownMemberId: true })));
    clock.advance(5_999);
    await flush();
    expect(a.done).toBe(false);
    clock.advance(1);
    await flush();
    expect(a.value).toMatchObject({ errorCode: 0, generationId: 1, members: [{ memberId: a1.memberId }] });
  });

  it('a JoinGroup parked on a connection that closes no longer counts as rejoined', async () => {
    const { coordinator, clock } = makeCoordinator({ initialRebalanceDelayMs: 10 });
    const conn = new AbortController();
    const a = track(coordinator.joinGroup(joinReq({ clientId: 'a' }), conn.signal));
    track(coordinator.joinGroup(joinReq({ clientId: 'b' })));
    expect(coordinator.waiting).toBe(2);
    conn.abort();
    expect(coordinator.waiting).toBe(1);
    clock.advance(100); // the initial delay ends: a did not stay to be answered, so it is dropped
    await flush();
    expect(a.done).toBe(false);
    expect(coordinator.group('g')?.members.has('a-1')).toBe(false);
    expect(coordinator.waiting).toBe(0);
  });
});

describe('static membership (KIP-345)', () => {
  it('a restarted static member takes over its instance id; the old member id is fenced (82)', async () => {
    const { coordinator } = makeCoordinator();
    const old = await joinNow(coordinator, { groupInstanceId: 'i1', requireKnownMemberId: true });
    expect(old.errorCode).toBe(0); // static members skip MEMBER_ID_REQUIRED
    await syncNow(coordinator, old.memberId, 1);
    const fresh = await joinNow(coordinator, { groupInstanceId: 'i1' });
    expect(fresh).toMatchObject({ errorCode: 0, generationId: 2, leader: fresh.memberId });
    expect(fresh.memberId).not.toBe(old.memberId);
    expect(coordinator.heartbeat({ groupId: 'g', generationId: 2, memberId: old.memberId, groupInstanceId: 'i1' })).toBe(82);
    expect((await joinNow(coordinator, { memberId: old.memberId, groupInstanceId: 'i1' })).errorCode).toBe(82);
    expect(coordinator.leaveGroup({ groupId: 'g', members: [{ memberId: old.memberId, groupInstanceId: 'i1' }] }).members[0]?.errorCode).toBe(82);
    expect(coordinator.heartbeat({ groupId: 'g', generationId: 2, memberId: fresh.memberId, groupInstanceId: 'i1' })).toBe(0);
  });
});

describe('caps', () => {
  it('maxGroups: a join that would hold one more group gets COORDINATOR_NOT_AVAILABLE (15)', async () => {
    const { coordinator } = makeCoordinator({ maxGroups: 1 });
    await joinNow(coordinator, { groupId: 'g1' });
    expect((await joinNow(coordinator, { groupId: 'g2' })).errorCode).toBe(15);
    coordinator.leaveGroup({ groupId: 'g1', members: [{ memberId: 'c-1', groupInstanceId: null }] });
    expect((await joinNow(coordinator, { groupId: 'g2' })).errorCode).toBe(0);
  });

  it('maxMembersPerGroup: GROUP_MAX_SIZE_REACHED (81), pending KIP-394 ids included; a static rejoin still fits', async () => {
    const { coordinator } = makeCoordinator({ maxMembersPerGroup: 2 });
    await joinNow(coordinator, { groupInstanceId: 's' });
    expect((await joinNow(coordinator, { requireKnownMemberId: true })).errorCode).toBe(79);
    expect((await joinNow(coordinator, { requireKnownMemberId: true })).errorCode).toBe(81);
    expect(coordinator.group('g')?.members.size).toBe(1);
    const again = track(coordinator.joinGroup(joinReq({ groupInstanceId: 's' })));
    await flush();
    expect(again.done).toBe(false); // parked: waiting for the pending id, not refused
  });

  it('maxMembers across groups: a new member beyond it gets COORDINATOR_LOAD_IN_PROGRESS (14); members already in still rejoin', async () => {
    const { coordinator } = makeCoordinator({ maxMembers: 2 });
    const a = await joinNow(coordinator, { groupId: 'g1' });
    expect((await joinNow(coordinator, { groupId: 'g2', requireKnownMemberId: true })).errorCode).toBe(79);
    expect((await joinNow(coordinator, { groupId: 'g3' })).errorCode).toBe(14);
    expect(coordinator.group('g3')).toBeUndefined();
    expect(coordinator.memberCount()).toBe(2);
    expect((await joinNow(coordinator, { groupId: 'g1', memberId: a.memberId })).errorCode).toBe(0);
  });

  it('maxWaiters: a request that would park gets COORDINATOR_LOAD_IN_PROGRESS (14) and changes nothing', async () => {
    const { coordinator, clock } = makeCoordinator({ maxWaiters: 1, initialRebalanceDelayMs: 10 });
    track(coordinator.joinGroup(joinReq({ clientId: 'a' })));
    expect((await joinNow(coordinator, { clientId: 'b' })).errorCode).toBe(14);
    expect(coordinator.group('g')?.members.size).toBe(1);
    clock.advance(10);
    await flush();
    expect(coordinator.waiting).toBe(0);
  });

  it('close answers parked requests with COORDINATOR_NOT_AVAILABLE (15) and leaves no timers', async () => {
    const { coordinator, clock } = makeCoordinator({ initialRebalanceDelayMs: 10 });
    const a = track(coordinator.joinGroup(joinReq({ clientId: 'a' })));
    coordinator.close();
    await flush();
    expect(a.value.errorCode).toBe(15);
    expect(clock.pending).toBe(0);
    expect((await joinNow(coordinator)).errorCode).toBe(15);
  });
});
