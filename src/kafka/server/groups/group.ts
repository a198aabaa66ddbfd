/**
 * One classic consumer group's membership, as Kafka's GroupMetadata.scala keeps it: members,
 * static instance ids (KIP-345), KIP-394 pending member ids, generation, selected protocol and
 * leader. This file holds data and the pure decisions on it (protocol vote, "has everyone
 * rejoined"); the transitions and timers live in coordinator.ts.
 */
import type { Timer } from './clock.js';
import type { GroupState, JoinGroupMember, JoinGroupResult, JoinProtocol, SyncGroupResult } from './types.js';

export interface Member {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: JoinProtocol[];
  /** What the leader assigned in the current generation (empty until SyncGroup). */
  assignment: Buffer;
  /** A JoinGroup waiting for the rebalance to complete; at most one per member. */
  joinWaiter: ((result: JoinGroupResult) => void) | null;
  /** A SyncGroup waiting for the leader's assignment; at most one per member. */
  syncWaiter: ((result: SyncGroupResult) => void) | null;
  sessionTimer: Timer | null;
}

const EMPTY = Buffer.alloc(0);

export function newMember(fields: Pick<Member, 'memberId' | 'groupInstanceId' | 'clientId' | 'clientHost' | 'sessionTimeoutMs' | 'rebalanceTimeoutMs' | 'protocols'>): Member {
  return { ...fields, assignment: EMPTY, joinWaiter: null, syncWaiter: null, sessionTimer: null };
}

export class Group {
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** Insertion order matters: the first member becomes leader, as in Kafka. */
  readonly members = new Map<string, Member>();
  /** KIP-394: member ids handed out with MEMBER_ID_REQUIRED, each expiring after a session timeout. */
  readonly pending = new Map<string, Timer>();
  /** KIP-345: group.instance.id -> current member id. */
  readonly staticMembers = new Map<string, string>();
  /** Fires when the rebalance (or the initial join delay) runs out. */
  rebalanceTimer: Timer | null = null;
  /** Kafka's InitialDelayedJoin: while set, a rebalance out of Empty does not complete early. */
  initialDelay: { remainingMs: number; newMemberAdded: boolean } | null = null;

  constructor(readonly groupId: string) {}

  add(member: Member, protocolType: string): void {
    if (this.members.size === 0) this.protocolType = protocolType;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    this.leaderId ??= member.memberId;
    if (this.initialDelay) this.initialDelay.newMemberAdded = true;
  }

  remove(memberId: string): void {
    const member = this.members.get(memberId);
    if (!member) return;
    this.members.delete(memberId);
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
    if (this.members.size === 0) this.protocolType = null;
  }

  /** KIP-345: a request naming an instance id that now belongs to another member id is fenced. */
  isFenced(memberId: string, groupInstanceId: string | null): boolean {
    if (groupInstanceId === null) return false;
    const current = this.staticMembers.get(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  /**
   * GroupMetadata.supportsProtocols: an empty group takes any non-empty type and list; otherwise
   * the type must match and the joiner must offer a protocol every current member supports.
   */
  supportsProtocols(protocolType: string, names: string[]): boolean {
    if (protocolType === '' || names.length === 0) return false;
    if (this.members.size === 0) return true;
    if (protocolType !== this.protocolType) return false;
    return names.some((name) => this.supportedByAll(name));
  }

  private supportedByAll(name: string): boolean {
    for (const m of this.members.values()) if (!m.protocols.some((p) => p.name === name)) return false;
    return true;
  }

  /**
   * GroupMetadata.selectProtocol: among the protocols every member supports, each member votes
   * for the first one in its own preference order; most votes wins. Ties go to the candidate
   * the earliest-joined member prefers, so the choice is deterministic.
   */
  selectProtocol(): string | null {
    const members = [...this.members.values()];
    const first = members[0];
    if (!first) return null;
    const candidates = first.protocols.map((p) => p.name).filter((name) => this.supportedByAll(name));
    const votes = new Map<string, number>(candidates.map((c) => [c, 0]));
    for (const m of members) {
      const choice = m.protocols.find((p) => votes.has(p.name));
      if (choice) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
    }
    let best: string | null = null;
    let bestVotes = -1;
    for (const [name, count] of votes) {
      if (count > bestVotes) {
        best = name;
        bestVotes = count;
      }
    }
    return best;
  }

  /** Everyone known has a JoinGroup waiting and no KIP-394 member id is still out. */
  allJoined(): boolean {
    if (this.pending.size > 0) return false;
    for (const m of this.members.values()) if (!m.joinWaiter) return false;
    return true;
  }

  /** The longest rebalance timeout among members: how long a rebalance may wait (Kafka does the same). */
  maxRebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  metadataOf(member: Member): Buffer {
    return member.protocols.find((p) => p.name === this.protocolName)?.metadata ?? EMPTY;
  }

  /** The JoinGroup answer for `member` in the current generation; only the leader sees the members. */
  joinResult(member: Member): JoinGroupResult {
    const isLeader = member.memberId === this.leaderId;
    const members: JoinGroupMember[] = isLeader
      ? [...this.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: this.metadataOf(m) }))
      : [];
    return {
      errorCode: 0,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leader: this.leaderId ?? '',
      memberId: member.memberId,
      members,
    };
  }
}

/** Same protocol names with the same metadata, in the same order: a rejoin that changes nothing. */
export function sameProtocols(a: JoinProtocol[], b: JoinProtocol[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i]?.name && p.metadata.equals(b[i].metadata));
}
