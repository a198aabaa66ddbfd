/**
 * The machinery under the coordinator's API (coordinator.ts): rebalance transitions and their
 * timers (Kafka's DelayedJoin and InitialDelayedJoin), session timers, and the parked
 * JoinGroup/SyncGroup requests with their global cap. Kept apart so each file reads in one go.
 */
import * as codes from './codes.js';
import type { Group, Member } from './group.js';
import type { ResolvedGroupOptions } from './options.js';
import type { JoinGroupResult, SyncGroupResult } from './types.js';

export const EMPTY = Buffer.alloc(0);

export function joinError(errorCode: number, memberId: string): JoinGroupResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [] };
}

export function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

export class GroupEngine {
  protected readonly groups = new Map<string, Group>();
  protected waiters = 0;
  protected closed = false;

  constructor(readonly options: ResolvedGroupOptions) {}

  // ------------------------------------------------------------------ rebalance

  protected maybePrepareRebalance(group: Group): void {
    if (group.state === 'Empty' || group.state === 'Stable' || group.state === 'CompletingRebalance') this.prepareRebalance(group);
  }

  protected prepareRebalance(group: Group): void {
    if (group.state === 'CompletingRebalance') {
      // The generation being synced is abandoned: followers waiting for it must rejoin.
      for (const m of group.members.values()) {
        m.assignment = EMPTY;
        this.answerSync(m, syncError(codes.REBALANCE_IN_PROGRESS));
      }
    }
    const fromEmpty = group.state === 'Empty';
    group.state = 'PreparingRebalance';
    group.rebalanceTimer?.cancel();
    const timeoutMs = group.maxRebalanceTimeoutMs();
    const { initialRebalanceDelayMs } = this.options;
    if (fromEmpty && initialRebalanceDelayMs > 0) {
      // Kafka's InitialDelayedJoin: consumers of a new group start together; waiting a little
      // lets them land in one generation instead of one rebalance each.
      const delay = Math.min(initialRebalanceDelayMs, timeoutMs);
      group.initialDelay = { remainingMs: timeoutMs - delay, newMemberAdded: false };
      group.rebalanceTimer = this.options.clock.setTimer(delay, () => this.onInitialDelay(group));
    } else {
      group.initialDelay = null;
      group.rebalanceTimer = this.options.clock.setTimer(timeoutMs, () => this.completeJoin(group));
    }
  }

  protected onInitialDelay(group: Group): void {
    const delay = group.initialDelay;
    if (!delay) return;
    if (delay.newMemberAdded && delay.remainingMs > 0) {
      const next = Math.min(this.options.initialRebalanceDelayMs, delay.remainingMs);
      group.initialDelay = { remainingMs: delay.remainingMs - next, newMemberAdded: false };
      group.rebalanceTimer = this.options.clock.setTimer(next, () => this.onInitialDelay(group));
      return;
    }
    group.initialDelay = null;
    this.completeJoin(group);
  }

  protected tryCompleteJoin(group: Group): void {
    if (group.state === 'PreparingRebalance' && !group.initialDelay && group.allJoined()) this.completeJoin(group);
  }

  /** GroupCoordinator.onCompleteJoin: drop who did not rejoin, open the next generation, answer joins. */
  protected completeJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    group.rebalanceTimer?.cancel();
    group.rebalanceTimer = null;
    group.initialDelay = null;
    for (const m of [...group.members.values()]) {
      if (!m.joinWaiter) this.dropMember(group, m);
    }
    group.generationId += 1;
    if (group.members.size === 0) {
      group.state = 'Empty';
      group.protocolName = null;
      this.forgetIfEmpty(group);
      return;
    }
    group.protocolName = group.selectProtocol();
    group.state = 'CompletingRebalance';
    for (const m of group.members.values()) {
      this.answerJoin(m, group.joinResult(m));
      this.scheduleSession(group, m);
    }
  }

  // ------------------------------------------------------------------ members, timers, waiters

  protected removeMemberAndUpdateGroup(group: Group, member: Member): void {
    this.dropMember(group, member);
    if (group.state === 'Stable' || group.state === 'CompletingRebalance') this.prepareRebalance(group);
    else if (group.state === 'PreparingRebalance') this.tryCompleteJoin(group);
    this.forgetIfEmpty(group);
  }

  protected dropMember(group: Group, member: Member): void {
    member.sessionTimer?.cancel();
    member.sessionTimer = null;
    this.answerJoin(member, joinError(codes.UNKNOWN_MEMBER_ID, member.memberId));
    this.answerSync(member, syncError(codes.UNKNOWN_MEMBER_ID));
    group.remove(member.memberId);
  }

  protected scheduleSession(group: Group, member: Member): void {
    member.sessionTimer?.cancel();
    member.sessionTimer = this.options.clock.setTimer(member.sessionTimeoutMs, () => {
      member.sessionTimer = null;
      if (group.members.get(member.memberId) !== member) return;
      // Parked requests keep a member alive (Kafka's shouldKeepAlive); the rebalance timeout bounds them.
      if (member.joinWaiter || member.syncWaiter) this.scheduleSession(group, member);
      else this.removeMemberAndUpdateGroup(group, member);
    });
  }

  /** Empty groups live on only in the store (their offsets); memory holds groups with members. */
  protected forgetIfEmpty(group: Group): void {
    if (group.members.size > 0 || group.pending.size > 0) return;
    group.rebalanceTimer?.cancel();
    group.state = 'Dead';
    if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
  }

  protected parkJoin(group: Group, member: Member, signal: AbortSignal | undefined): Promise<JoinGroupResult> {
    // A second JoinGroup from the same member replaces the first, which must still get an answer.
    this.answerJoin(member, joinError(codes.REBALANCE_IN_PROGRESS, member.memberId));
    return this.park(signal, (resolve) => (member.joinWaiter = resolve), () => member.joinWaiter, () => {
      member.joinWaiter = null;
      // The client is gone: it no longer counts as rejoined, and the group may complete without it.
      this.tryCompleteJoin(group);
    });
  }

  protected parkSync(member: Member, signal: AbortSignal | undefined): Promise<SyncGroupResult> {
    this.answerSync(member, syncError(codes.REBALANCE_IN_PROGRESS));
    return this.park(signal, (resolve) => (member.syncWaiter = resolve), () => member.syncWaiter, () => (member.syncWaiter = null));
  }

  /** Parks one request, counted against maxWaiters; a closed connection unparks it. */
  protected park<T>(signal: AbortSignal | undefined, set: (resolve: (v: T) => void) => void, current: () => ((v: T) => void) | null, onAbort: () => void): Promise<T> {
    return new Promise<T>((resolve) => {
      this.waiters += 1;
      const onAbortEvent = (): void => {
        if (current() !== waiter) return;
        this.waiters -= 1;
        onAbort();
      };
      const waiter = (value: T): void => {
        this.waiters -= 1;
        signal?.removeEventListener('abort', onAbortEvent);
        resolve(value);
      };
      set(waiter);
      // A connection that closed before its request got here never fires 'abort' again.
      if (signal?.aborted) onAbortEvent();
      else signal?.addEventListener('abort', onAbortEvent, { once: true });
    });
  }

  protected answerJoin(member: Member, result: JoinGroupResult): void {
    const waiter = member.joinWaiter;
    member.joinWaiter = null;
    waiter?.(result);
  }

  protected answerSync(member: Member, result: SyncGroupResult): void {
    const waiter = member.syncWaiter;
    member.syncWaiter = null;
    waiter?.(result);
  }
}
