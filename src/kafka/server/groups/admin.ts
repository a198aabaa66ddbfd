/**
 * ListGroups, DescribeGroups and FindCoordinator. Groups with members live in the coordinator's
 * memory; groups that only have committed offsets live in the store and show as Empty, which
 * is how Kafka shows a group whose consumers are all gone.
 */
import { KEY_TYPE_GROUP, KEY_TYPE_TRANSACTION, type CoordinatorAnswer } from '../../protocol/apis/find-coordinator.js';
import type { BrokerInfo } from '../handler.js';
import * as codes from './codes.js';
import type { Group } from './group.js';
import type { ResolvedGroupOptions } from './options.js';
import type { DescribedGroup, GroupState, ListedGroup } from './types.js';

/** What listing and describing ask of the coordinator: the groups it holds and those with offsets. */
export interface GroupDirectory {
  readonly options: ResolvedGroupOptions;
  group(groupId: string): Group | undefined;
  allGroups(): IterableIterator<Group>;
  listOffsetGroups(): string[];
}

export function listGroups(coordinator: GroupDirectory, statesFilter: string[], typesFilter: string[]): ListedGroup[] {
  const out = new Map<string, ListedGroup>();
  for (const g of coordinator.listOffsetGroups()) out.set(g, { groupId: g, protocolType: '', groupState: 'Empty' });
  for (const g of coordinator.allGroups()) out.set(g.groupId, { groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: g.state });
  // ListGroups v4 (KIP-518) filters states case-insensitively. v5's types filter (KIP-848) is on
  // the group type, not the protocol type: every Weir group is a "classic" group.
  if (typesFilter.length > 0 && !typesFilter.some((t) => t.toLowerCase() === 'classic')) return [];
  const states = new Set(statesFilter.map((s) => s.toLowerCase()));
  return [...out.values()].filter((g) => states.size === 0 || states.has(g.groupState.toLowerCase()));
}

export function describeGroups(coordinator: GroupDirectory, groupIds: string[]): DescribedGroup[] {
  return groupIds.map((groupId): DescribedGroup => {
    if (groupId === '') return emptyDescription(groupId, 'Dead', codes.INVALID_GROUP_ID);
    const g = coordinator.group(groupId);
    // Offsets without members: Kafka shows such a group as Empty; no trace at all is Dead.
    if (!g) return emptyDescription(groupId, coordinator.options.store.fetchGroupOffsets(groupId).length > 0 ? 'Empty' : 'Dead', codes.NONE);
    // As GroupMetadata.summary: metadata, assignment and protocol only once Stable.
    const stable = g.state === 'Stable';
    return {
      errorCode: codes.NONE,
      groupId,
      groupState: g.state,
      protocolType: g.protocolType ?? '',
      protocolData: stable ? (g.protocolName ?? '') : '',
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable ? g.metadataOf(m) : Buffer.alloc(0),
        memberAssignment: stable ? m.assignment : Buffer.alloc(0),
      })),
    };
  });
}

function emptyDescription(groupId: string, groupState: GroupState, errorCode: number): DescribedGroup {
  return { errorCode, groupId, groupState, protocolType: '', protocolData: '', members: [] };
}

/**
 * Weir is a single node, so it coordinates every group and every transactional id itself
 * (key_type 0 and 1). Any other key type (KIP-932's share groups) gets INVALID_REQUEST with a
 * message rather than a retriable error a client would retry forever.
 */
export function findCoordinator(keys: string[], keyType: number, broker: BrokerInfo): CoordinatorAnswer[] {
  return keys.map((key) =>
    keyType === KEY_TYPE_GROUP || keyType === KEY_TYPE_TRANSACTION
      ? { key, nodeId: broker.nodeId, host: broker.host, port: broker.port, errorCode: codes.NONE, errorMessage: null }
      : { key, nodeId: -1, host: '', port: -1, errorCode: codes.INVALID_REQUEST, errorMessage: `Weir coordinates groups (key_type 0) and transactions (1), not key_type ${keyType}` },
  );
}
