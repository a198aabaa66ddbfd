/** DescribeGroups v0–5: a group's state, protocol and members. */
import { ApiKey } from '../../../protocol/api-keys.js';
import { decodeDescribeGroupsRequest, DESCRIBE_GROUPS_FIRST_FLEXIBLE, encodeDescribeGroupsResponse } from '../../../protocol/apis/describe-groups.js';
import { defineHandler } from '../../handler.js';
import type { GroupCoordinator } from '../coordinator.js';

export function createDescribeGroupsHandler(coordinator: GroupCoordinator) {
  return defineHandler({
    apiKey: ApiKey.DescribeGroups,
    name: 'DescribeGroups',
    minVersion: 0,
    maxVersion: 5,
    firstFlexibleVersion: DESCRIBE_GROUPS_FIRST_FLEXIBLE,
    decode: decodeDescribeGroupsRequest,
    encode: encodeDescribeGroupsResponse,
    handle: (groupIds) => coordinator.describeGroups(groupIds),
  });
}
