/**
 * The classic group coordinator: membership and rebalances as Kafka's GroupCoordinator.scala
 * runs them, in memory, for one broker that is always the coordinator. Offsets (offsets.ts) and
 * listing (admin.ts) hang off the same object so handlers need one dependency; the timers and
 * parked requests underneath are in rebalance.ts.
 *
 * States: Empty -> PreparingRebalance (a join, or a member gone) -> CompletingRebalance (every
 * known member rejoined, or the rebalance timeout dropped those that did not; generation + 1)
 * -> Stable (the leader's SyncGroup). Dead is only the state of groups this coordinator does not
 * hold (DescribeGroups); empty groups are forgotten, their offsets stay in the store.
 *
 * Liveness: a member's session timer is reset by every heartbeat, commit and rejoin. While it
 * has a JoinGroup or SyncGroup parked it is kept alive (Kafka's MemberMetadata.shouldKeepAlive):
 * the rebalance timeout, not the session timeout, bounds those waits. That and KIP-394 pending
 * ids surviving across generations is what keeps concurrent joins free of spurious
 * UNKNOWN_MEMBER_ID.
 */
import * as codes from './codes.js';
import { Group, newMember, sameProtocols, type Member } from './group.js';
import { EMPTY, GroupEngine, joinError, syncError } from './rebalance.js';
import { resolveGroupOptions, type GroupCoordinatorOptions } from './options.js';
import { commitOffsets, fetchOffsets } from './offsets.js';
import { describeGroups, listGroups } from './admin.js';
import type {
  DescribedGroup, HeartbeatInput, JoinGroupInput, JoinGroupResult, LeaveGroupInput, LeaveGroupResult, ListedGroup,
  OffsetCommitInput, OffsetCommitResult, OffsetFetchInput, OffsetFetchResult, SyncGroupInput, SyncGroupResult,
} from './types.js';

export class GroupCoordinator extends GroupEngine {
  constructor(options: GroupCoordinatorOptions) {
    super(resolveGroupOptions(options));
  }

  /** In-memory groups (those with members or pending ids), for admin.ts and tests. */
  group(groupId: string): Group | undefined {
    return this.groups.get(groupId);
  }

  allGroups(): IterableIterator<Group> {
    return this.groups.values();
  }

  /** Groups that have committed offsets in the store (with or without members). */
  listOffsetGroups(): string[] {
    return this.options.store.listGroupsWithOffsets();
  }

  /** Members and pending ids across groups; counted when asked, since only new joiners ask. */
  memberCount(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.members.size + g.pending.size;
    return n;
  }

  get waiting(): number {
    return this.waiters;
  }

  // ------------------------------------------------------------------ JoinGroup

  joinGroup(req: JoinGroupInput, signal?: AbortSignal): Promise<JoinGroupResult> {
    const { minSessionTimeoutMs, maxSessionTimeoutMs, maxGroups, maxWaiters } = this.options;
    if (this.closed) return Promise.resolve(joinError(codes.COORDINATOR_NOT_AVAILABLE, req.memberId));
    if (req.groupId === '') return Promise.resolve(joinError(codes.INVALID_GROUP_ID, req.memberId));
    if (req.sessionTimeoutMs < minSessionTimeoutMs || req.sessionTimeoutMs > maxSessionTimeoutMs) {
      return Promise.resolve(joinError(codes.INVALID_SESSION_TIMEOUT, req.memberId));
    }
    let group = this.groups.get(req.groupId);
    if (!group) {
      // A member id for a group we do not hold belongs to a generation that is gone.
      if (req.memberId !== '') return Promise.resolve(joinError(codes.UNKNOWN_MEMBER_ID, req.memberId));
      if (this.groups.size >= maxGroups) return Promise.resolve(joinError(codes.COORDINATOR_NOT_AVAILABLE, req.memberId));
    }
    if (this.waiters >= maxWaiters) return Promise.resolve(joinError(codes.COORDINATOR_LOAD_IN_PROGRESS, req.memberId));
    if (!group) {
      group = new Group(req.groupId);
      this.groups.set(req.groupId, group);
    }
    const g = group;
    const rebalanceTimeoutMs = Math.min(Math.max(req.rebalanceTimeoutMs, req.sessionTimeoutMs), maxSessionTimeoutMs);
    const input = { ...req, rebalanceTimeoutMs };
    const result = this.join(g, input, signal);
    this.forgetIfEmpty(g);
    return result;
  }

  private join(group: Group, req: JoinGroupInput, signal: AbortSignal | undefined): Promise<JoinGroupResult> {
    if (!group.supportsProtocols(req.protocolType, req.protocols.map((p) => p.name))) {
      return Promise.resolve(joinError(codes.INCONSISTENT_GROUP_PROTOCOL, req.memberId));
    }
    return req.memberId === '' ? this.joinNew(group, req, signal) : this.joinKnown(group, req, signal);
  }

  private joinNew(group: Group, req: JoinGroupInput, signal: AbortSignal | undefined): Promise<JoinGroupResult> {
    const memberId = this.options.newMemberId(req.clientId);
    const previous = req.groupInstanceId === null ? undefined : group.staticMembers.get(req.groupInstanceId);
    if (previous === undefined && group.members.size + group.pending.size >= this.options.maxMembersPerGroup) {
      return Promise.resolve(joinError(codes.GROUP_MAX_SIZE_REACHED, ''));
    }
    if (previous === undefined && this.memberCount() >= this.options.maxMembers) {
      return Promise.resolve(joinError(codes.COORDINATOR_LOAD_IN_PROGRESS, ''));
    }
    if (previous !== undefined) {
      // KIP-345: a static member restarting takes over its instance id under a new member id;
      // the old id is fenced. Kafka can skip the rebalance when nothing changed; Weir keeps it
      // simple and rebalances, which is correct, only slower.
      const old = group.members.get(previous);
      if (old) {
        this.answerJoin(old, joinError(codes.FENCED_INSTANCE_ID, previous));
        this.answerSync(old, syncError(codes.FENCED_INSTANCE_ID));
        old.sessionTimer?.cancel();
        group.remove(previous);
      }
    } else if (req.groupInstanceId === null && req.requireKnownMemberId) {
      // KIP-394: hand out the id and wait for the member to come back with it, so a client that
      // times out on its first join does not leave a ghost member for the session timeout.
      const timer = this.options.clock.setTimer(req.sessionTimeoutMs, () => {
        if (!group.pending.delete(memberId)) return;
        this.tryCompleteJoin(group);
        this.forgetIfEmpty(group);
      });
      group.pending.set(memberId, timer);
      return Promise.resolve(joinError(codes.MEMBER_ID_REQUIRED, memberId));
    }
    return this.addMemberAndRebalance(group, memberId, req, signal);
  }

  private joinKnown(group: Group, req: JoinGroupInput, signal: AbortSignal | undefined): Promise<JoinGroupResult> {
    const pendingTimer = group.pending.get(req.memberId);
    if (pendingTimer) {
      pendingTimer.cancel();
      group.pending.delete(req.memberId);
      return this.addMemberAndRebalance(group, req.memberId, req, signal);
    }
    if (group.isFenced(req.memberId, req.groupInstanceId)) return Promise.resolve(joinError(codes.FENCED_INSTANCE_ID, req.memberId));
    const member = group.members.get(req.memberId);
    if (!member) return Promise.resolve(joinError(codes.UNKNOWN_MEMBER_ID, req.memberId));
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(group, member, req, signal);
      case 'CompletingRebalance':
        // A member that missed its JoinGroup answer asks again: same answer, no new rebalance.
        if (sameProtocols(member.protocols, req.protocols)) return Promise.resolve(group.joinResult(member));
        return this.updateMemberAndRebalance(group, member, req, signal);
      case 'Stable':
        // The leader rejoining forces a rebalance: that is how it reacts to metadata changes
        // (new partitions) that do not change any member's subscription.
        if (member.memberId !== group.leaderId && sameProtocols(member.protocols, req.protocols)) {
          this.scheduleSession(group, member);
          return Promise.resolve(group.joinResult(member));
        }
        return this.updateMemberAndRebalance(group, member, req, signal);
      case 'Empty':
      case 'Dead':
        return Promise.resolve(joinError(codes.UNKNOWN_MEMBER_ID, req.memberId));
    }
  }

  private addMemberAndRebalance(group: Group, memberId: string, req: JoinGroupInput, signal: AbortSignal | undefined): Promise<JoinGroupResult> {
    const member = newMember({
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      protocols: req.protocols,
    });
    group.add(member, req.protocolType);
    return this.joinRebalance(group, member, signal);
  }

  private updateMemberAndRebalance(group: Group, member: Member, req: JoinGroupInput, signal: AbortSignal | undefined): Promise<JoinGroupResult> {
    member.protocols = req.protocols;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    return this.joinRebalance(group, member, signal);
  }

  /** `member`'s JoinGroup waits for the rebalance it starts (or joins), answered once every member has joined. */
  private joinRebalance(group: Group, member: Member, signal: AbortSignal | undefined): Promise<JoinGroupResult> {
    const answer = this.parkJoin(group, member, signal);
    this.maybePrepareRebalance(group);
    this.tryCompleteJoin(group);
    return answer;
  }

  // ------------------------------------------------------------------ SyncGroup

  syncGroup(req: SyncGroupInput, signal?: AbortSignal): Promise<SyncGroupResult> {
    const group = this.groups.get(req.groupId);
    if (this.closed) return Promise.resolve(syncError(codes.COORDINATOR_NOT_AVAILABLE));
    if (!group) return Promise.resolve(syncError(codes.UNKNOWN_MEMBER_ID));
    if (group.isFenced(req.memberId, req.groupInstanceId)) return Promise.resolve(syncError(codes.FENCED_INSTANCE_ID));
    const member = group.members.get(req.memberId);
    if (!member) return Promise.resolve(syncError(codes.UNKNOWN_MEMBER_ID));
    if (req.generationId !== group.generationId) return Promise.resolve(syncError(codes.ILLEGAL_GENERATION));
    // KIP-559 (SyncGroup v5): the client names what it joined with; a mismatch is a client bug.
    if ((req.protocolType !== null && req.protocolType !== group.protocolType) || (req.protocolName !== null && req.protocolName !== group.protocolName)) {
      return Promise.resolve(syncError(codes.INCONSISTENT_GROUP_PROTOCOL));
    }
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return Promise.resolve(syncError(codes.UNKNOWN_MEMBER_ID));
      case 'PreparingRebalance':
        return Promise.resolve(syncError(codes.REBALANCE_IN_PROGRESS));
      case 'Stable':
        this.scheduleSession(group, member);
        return Promise.resolve(this.syncResult(group, member));
      case 'CompletingRebalance': {
        const isLeader = member.memberId === group.leaderId;
        if (!isLeader && this.waiters >= this.options.maxWaiters) return Promise.resolve(syncError(codes.COORDINATOR_LOAD_IN_PROGRESS));
        const answer = this.parkSync(member, signal);
        if (isLeader) this.propagateAssignment(group, req.assignments);
        return answer;
      }
    }
  }

  private propagateAssignment(group: Group, assignments: SyncGroupInput['assignments']): void {
    const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]));
    group.state = 'Stable';
    for (const m of group.members.values()) {
      // Members the leader left out get an empty assignment, as in Kafka.
      m.assignment = byMember.get(m.memberId) ?? EMPTY;
      this.answerSync(m, this.syncResult(group, m));
      this.scheduleSession(group, m);
    }
  }

  private syncResult(group: Group, member: Member): SyncGroupResult {
    return { errorCode: codes.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment };
  }

  // ------------------------------------------------------------------ Heartbeat, LeaveGroup

  heartbeat(req: HeartbeatInput): number {
    const group = this.groups.get(req.groupId);
    if (this.closed) return codes.COORDINATOR_NOT_AVAILABLE;
    if (!group) return codes.UNKNOWN_MEMBER_ID;
    if (group.isFenced(req.memberId, req.groupInstanceId)) return codes.FENCED_INSTANCE_ID;
    const member = group.members.get(req.memberId);
    if (!member) return codes.UNKNOWN_MEMBER_ID;
    if (req.generationId !== group.generationId) return codes.ILLEGAL_GENERATION;
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return codes.UNKNOWN_MEMBER_ID;
      case 'PreparingRebalance':
        // Keep the member alive while telling it to rejoin.
        this.scheduleSession(group, member);
        return codes.REBALANCE_IN_PROGRESS;
      case 'CompletingRebalance':
      case 'Stable':
        this.scheduleSession(group, member);
        return codes.NONE;
    }
  }

  leaveGroup(req: LeaveGroupInput): LeaveGroupResult {
    if (this.closed) return { errorCode: codes.COORDINATOR_NOT_AVAILABLE, members: [] };
    const group = this.groups.get(req.groupId);
    const members = req.members.map((m) => ({ ...m, errorCode: group ? this.leaveOne(group, m.memberId, m.groupInstanceId) : codes.UNKNOWN_MEMBER_ID }));
    if (group) this.forgetIfEmpty(group);
    return { errorCode: codes.NONE, members };
  }

  private leaveOne(group: Group, memberId: string, groupInstanceId: string | null): number {
    let id = memberId;
    if (groupInstanceId !== null) {
      // KIP-345: a static member may leave by instance id alone (admin tools send '' as member id).
      const current = group.staticMembers.get(groupInstanceId);
      if (current === undefined) return codes.UNKNOWN_MEMBER_ID;
      if (memberId !== '' && memberId !== current) return codes.FENCED_INSTANCE_ID;
      id = current;
    }
    const pendingTimer = group.pending.get(id);
    if (pendingTimer) {
      pendingTimer.cancel();
      group.pending.delete(id);
      this.tryCompleteJoin(group);
      return codes.NONE;
    }
    const member = group.members.get(id);
    if (!member) return codes.UNKNOWN_MEMBER_ID;
    this.removeMemberAndUpdateGroup(group, member);
    return codes.NONE;
  }

  // ------------------------------------------------------------------ offsets and admin

  /** OffsetCommit's membership check (GroupCoordinator.handleCommitOffsets): NONE or the error for every partition. */
  checkCommit(req: Pick<OffsetCommitInput, 'groupId' | 'generationId' | 'memberId' | 'groupInstanceId'>): number {
    if (this.closed) return codes.COORDINATOR_NOT_AVAILABLE;
    if (req.groupId === '') return codes.INVALID_GROUP_ID;
    const group = this.groups.get(req.groupId);
    // Generation -1: a standalone consumer (assign(), no group membership) storing offsets.
    if (!group) return req.generationId < 0 ? codes.NONE : codes.ILLEGAL_GENERATION;
    if (group.isFenced(req.memberId, req.groupInstanceId)) return codes.FENCED_INSTANCE_ID;
    if (req.generationId < 0 && group.state === 'Empty') return codes.NONE;
    const member = group.members.get(req.memberId);
    if (!member) return codes.UNKNOWN_MEMBER_ID;
    if (req.generationId !== group.generationId) return codes.ILLEGAL_GENERATION;
    // Between JoinGroup and SyncGroup the member has no assignment yet to commit for.
    if (group.state === 'CompletingRebalance') return codes.REBALANCE_IN_PROGRESS;
    // Stable, or PreparingRebalance: Kafka accepts commits there so a member can commit what it
    // processed before rejoining; the heartbeat tells it about the rebalance.
    this.scheduleSession(group, member);
    return codes.NONE;
  }

  commitOffsets(req: OffsetCommitInput): Promise<OffsetCommitResult> {
    return commitOffsets(this, req);
  }

  fetchOffsets(req: OffsetFetchInput): OffsetFetchResult {
    return fetchOffsets(this, req);
  }

  listGroups(statesFilter: string[] = [], typesFilter: string[] = []): ListedGroup[] {
    return listGroups(this, statesFilter, typesFilter);
  }

  describeGroups(groupIds: string[]): DescribedGroup[] {
    return describeGroups(this, groupIds);
  }

  /** Stops every timer and answers every parked request with COORDINATOR_NOT_AVAILABLE (retriable). */
  close(): void {
    this.closed = true;
    for (const group of this.groups.values()) {
      group.rebalanceTimer?.cancel();
      for (const t of group.pending.values()) t.cancel();
      for (const m of group.members.values()) {
        m.sessionTimer?.cancel();
        this.answerJoin(m, joinError(codes.COORDINATOR_NOT_AVAILABLE, m.memberId));
        this.answerSync(m, syncError(codes.COORDINATOR_NOT_AVAILABLE));
      }
    }
    this.groups.clear();
  }

}
