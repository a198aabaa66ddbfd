/**
 * The group coordinator's requests and answers. Where they are a wire message as decoded, they
 * are the codec's types (src/kafka/protocol/apis/, field names from Kafka's message specs), so a
 * handler hands one to the other as it is; the coordinator adds what is not on the wire (who is
 * asking, KIP-394) and its own group states. Version differences (absent fields, v0 defaults)
 * are resolved by the codecs and handlers.
 */
import type { DescribedGroup as WireDescribedGroup } from '../../protocol/apis/describe-groups.js';
import type { HeartbeatRequest } from '../../protocol/apis/heartbeat.js';
import type { JoinGroupRequest, JoinGroupResponse } from '../../protocol/apis/join-group.js';
import type { LeaveGroupRequest, LeaveGroupResponse } from '../../protocol/apis/leave-group.js';
import type { ListedGroup as WireListedGroup } from '../../protocol/apis/list-groups.js';
import type { OffsetCommitRequest, OffsetCommitResponse } from '../../protocol/apis/offset-commit.js';
import type { OffsetFetchGroupRequest, OffsetFetchGroupResponse } from '../../protocol/apis/offset-fetch.js';
import type { SyncGroupRequest, SyncGroupResponse } from '../../protocol/apis/sync-group.js';

export type { DescribedMember } from '../../protocol/apis/describe-groups.js';
export type { JoinGroupMember, JoinProtocol } from '../../protocol/apis/join-group.js';
export type { FetchedOffset } from '../../protocol/apis/offset-fetch.js';

/** Kafka's classic group states (GroupState.scala); the strings are what DescribeGroups shows. */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface JoinGroupInput extends JoinGroupRequest {
  /** KIP-394: true from JoinGroup v4, where a first join gets MEMBER_ID_REQUIRED and an id. */
  requireKnownMemberId: boolean;
  clientId: string;
  clientHost: string;
}

export type JoinGroupResult = JoinGroupResponse;
export type SyncGroupInput = SyncGroupRequest;
export type SyncGroupResult = SyncGroupResponse;
export type HeartbeatInput = HeartbeatRequest;
export type LeaveGroupInput = LeaveGroupRequest;
export type LeaveGroupResult = LeaveGroupResponse;
export type OffsetCommitInput = OffsetCommitRequest;
export type OffsetCommitResult = OffsetCommitResponse;
export type OffsetFetchInput = OffsetFetchGroupRequest;
export type OffsetFetchResult = Omit<OffsetFetchGroupResponse, 'groupId'>;

export interface ListedGroup extends WireListedGroup {
  groupState: GroupState;
}

export interface DescribedGroup extends WireDescribedGroup {
  groupState: GroupState;
}
