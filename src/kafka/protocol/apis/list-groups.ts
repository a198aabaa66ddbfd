/**
 * ListGroups (key 16), versions 0–5; flexible from v3.
 *
 *   ListGroups Request => [states_filter:STRING] (v4+, KIP-518) [types_filter:STRING] (v5+, KIP-848)
 *
 *   ListGroups Response => throttle_time_ms:INT32 (v1+) error_code:INT16
 *                          [groups] => group_id:STRING protocol_type:STRING
 *                                      group_state:STRING (v4+) group_type:STRING (v5+)
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const LIST_GROUPS_FIRST_FLEXIBLE = 3;

export interface ListGroupsRequest {
  statesFilter: string[];
  typesFilter: string[];
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  groupState: string;
}

export function decodeListGroupsRequest(r: Reader, version: number): ListGroupsRequest {
  const flexible = version >= LIST_GROUPS_FIRST_FLEXIBLE;
  const statesFilter = version >= 4 ? r.array(flexible, (r) => r.string(flexible)) : [];
  const typesFilter = version >= 5 ? r.array(flexible, (r) => r.string(flexible)) : [];
  r.maybeTaggedFields(flexible);
  return { statesFilter, typesFilter };
}

export function encodeListGroupsResponse(w: Writer, version: number, groups: ListedGroup[]): void {
  const flexible = version >= LIST_GROUPS_FIRST_FLEXIBLE;
  if (version >= 1) w.int32(0);
  w.int16(0);
  w.array(groups, flexible, (w, g) => {
    w.string(g.groupId, flexible).string(g.protocolType, flexible);
    if (version >= 4) w.string(g.groupState, flexible);
    if (version >= 5) w.string('classic', flexible);
    w.maybeTaggedFields(flexible);
  });
  w.maybeTaggedFields(flexible);
}
