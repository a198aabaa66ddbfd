/** The coordinator's dependencies and limits, with Kafka's defaults where Kafka has one. */
import type { GroupOffsetStore, RecordLog } from '../../../store/types.js';
import { systemClock, type Clock } from './clock.js';

/** The part of the store the coordinator uses: committed offsets, and topic existence for commits. */
export type GroupStore = Pick<GroupOffsetStore, 'commitGroupOffsets' | 'fetchGroupOffsets' | 'listGroupsWithOffsets'> & Pick<RecordLog, 'offsets'>;

export interface GroupCoordinatorOptions {
  store: GroupStore;
  clock?: Clock;
  /** Member ids are `${clientId}-${uuid}` as in Kafka; tests inject a deterministic source. */
  newMemberId?: (clientId: string) => string;
  /**
   * Groups with members (or KIP-394 pending ids) held in memory. A JoinGroup that would create
   * one more is answered COORDINATOR_NOT_AVAILABLE (15, retriable). Empty groups are forgotten
   * at once (their offsets stay in the store), so they never count.
   */
  maxGroups?: number;
  /** Kafka's group.max.size. A new member beyond it gets GROUP_MAX_SIZE_REACHED (81, KIP-389). */
  maxMembersPerGroup?: number;
  /**
   * Members and KIP-394 pending ids across all groups: what bounds the coordinator's memory. A
   * new member beyond it gets COORDINATOR_LOAD_IN_PROGRESS (14, retriable): it may fit later.
   */
  maxMembers?: number;
  /**
   * JoinGroup and SyncGroup requests parked until a rebalance step completes, across all
   * groups. At the cap a request that would wait is answered COORDINATOR_LOAD_IN_PROGRESS (14):
   * every client retries it after a backoff, and nothing about the group changes.
   */
  maxWaiters?: number;
  /** Kafka's group.min.session.timeout.ms / group.max.session.timeout.ms (INVALID_SESSION_TIMEOUT outside). */
  minSessionTimeoutMs?: number;
  maxSessionTimeoutMs?: number;
  /** Kafka's group.initial.rebalance.delay.ms: a group leaving Empty waits this long for more joiners. */
  initialRebalanceDelayMs?: number;
  /** Kafka's offset.metadata.max.bytes: longer commit metadata gets OFFSET_METADATA_TOO_LARGE (12). */
  maxOffsetMetadataBytes?: number;
}

export type ResolvedGroupOptions = Required<GroupCoordinatorOptions>;

export function resolveGroupOptions(options: GroupCoordinatorOptions): ResolvedGroupOptions {
  return {
    clock: systemClock,
    newMemberId: (clientId) => `${clientId}-${crypto.randomUUID()}`,
    maxGroups: 1_000,
    maxMembersPerGroup: 1_000,
    maxMembers: 10_000,
    maxWaiters: 10_000,
    minSessionTimeoutMs: 6_000,
    maxSessionTimeoutMs: 1_800_000,
    initialRebalanceDelayMs: 3_000,
    maxOffsetMetadataBytes: 4_096,
    ...stripUndefined(options),
  };
}

/** `o` without its undefined properties, so spreading it over defaults keeps the defaults. */
export function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
