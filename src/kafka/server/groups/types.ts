/**
 * The group coordinator's requests and answers, independent of the wire. Field names follow
 * Kafka's message specs (JoinGroupRequest.json, …) so a handler maps one onto the other field by
 * field; version differences (absent fields, v0 defaults) are resolved by the handlers.
 */

/** Kafka's classic group states (GroupState.scala); the strings are what DescribeGroups shows. */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface JoinProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinGroupInput {
  groupId: string;
  sessionTimeoutMs: number;
  /** JoinGroup v0 has none: the handler passes the session timeout, as Kafka does. */
  rebalanceTimeoutMs: number;
  /** '' for a member joining for the first time. */
  memberId: string;
  /** KIP-345 static membership (v5+); null for dynamic members. */
  groupInstanceId: string | null;
  protocolType: string;
  protocols: JoinProtocol[];
  /** KIP-394: true from JoinGroup v4, where a first join gets MEMBER_ID_REQUIRED and an id. */
  requireKnownMemberId: boolean;
  clientId: string;
  clientHost: string;
}

export interface JoinGroupMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinGroupResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  /** Filled for the leader only: it computes the assignment for everybody. */
  members: JoinGroupMember[];
}

export interface SyncGroupInput {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** SyncGroup v5+ (KIP-559); null when the client did not send it. */
  protocolType: string | null;
  protocolName: string | null;
  /** Empty from followers; the leader's per-member assignments. */
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface SyncGroupResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface HeartbeatInput {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeaveGroupInput {
  groupId: string;
  /** v0–2 carry one member id; v3+ a batch (KIP-345). */
  members: { memberId: string; groupInstanceId: string | null }[];
}

export interface LeaveGroupResult {
  errorCode: number;
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

export interface OffsetCommitInput {
  groupId: string;
  /** -1 for a standalone consumer that only stores offsets (no group membership). */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  topics: {
    name: string;
    partitions: { partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }[];
  }[];
}

export interface OffsetCommitResult {
  topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
}

export interface OffsetFetchInput {
  groupId: string;
  /** null = every partition the group has an offset for (OffsetFetch v2+). */
  topics: { name: string; partitionIndexes: number[] }[] | null;
}

export interface FetchedOffset {
  partitionIndex: number;
  /** -1 when the group has no offset for the partition. */
  committedOffset: number;
  committedLeaderEpoch: number;
  metadata: string;
  errorCode: number;
}

export interface OffsetFetchResult {
  errorCode: number;
  topics: { name: string; partitions: FetchedOffset[] }[];
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  groupState: GroupState;
}

export interface DescribedMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  memberMetadata: Buffer;
  memberAssignment: Buffer;
}

export interface DescribedGroup {
  errorCode: number;
  groupId: string;
  groupState: GroupState;
  protocolType: string;
  /** The selected protocol (assignor) name; '' unless Stable, as Kafka shows it. */
  protocolData: string;
  members: DescribedMember[];
}
