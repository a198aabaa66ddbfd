/** ListGroups v0–5: the groups Weir coordinates, filtered by state (v4+) and type (v5+). */
import { ApiKey } from '../../../protocol/api-keys.js';
import { decodeListGroupsRequest, encodeListGroupsResponse, LIST_GROUPS_FIRST_FLEXIBLE } from '../../../protocol/apis/list-groups.js';
import { defineHandler } from '../../handler.js';
import type { GroupCoordinator } from '../coordinator.js';

export function createListGroupsHandler(coordinator: GroupCoordinator) {
  return defineHandler({
    apiKey: ApiKey.ListGroups,
    name: 'ListGroups',
    minVersion: 0,
    maxVersion: 5,
    firstFlexibleVersion: LIST_GROUPS_FIRST_FLEXIBLE,
    decode: decodeListGroupsRequest,
    encode: encodeListGroupsResponse,
    handle: (req) => coordinator.listGroups(req.statesFilter, req.typesFilter),
  });
}
