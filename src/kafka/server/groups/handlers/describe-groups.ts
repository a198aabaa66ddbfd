/**
 * DescribeGroups (key 15), versions 0–5; flexible from v5.
 *
 *   DescribeGroups Request => [groups:STRING] include_authorized_operations:BOOLEAN (v3+)
 *
 *   DescribeGroups Response => throttle_time_ms:INT32 (v1+)
 *                              [groups] => error_code:INT16 group_id:STRING group_state:STRING
 *                                          protocol_type:STRING protocol_data:STRING
 *                                          [members] => member_id:STRING group_instance_id:NULLABLE_STRING (v4+)
 *                                                       client_id:STRING client_host:STRING
 *                                                       member_metadata:BYTES member_assignment:BYTES
 *                                          authorized_operations:INT32 (v3+)
 */
import { ApiKey } from '../../../protocol/api-keys.js';
import { AUTHORIZED_OPERATIONS_OMITTED } from '../../../protocol/apis/metadata.js';
import type { Reader } from '../../../protocol/reader.js';
import type { Writer } from '../../../protocol/writer.js';
import { defineHandler } from '../../handler.js';
import type { GroupCoordinator } from '../coordinator.js';
import type { DescribedGroup } from '../types.js';

const FIRST_FLEXIBLE = 5;

export function decodeDescribeGroupsRequest(r: Reader, version: number): string[] {
  const flexible = version >= FIRST_FLEXIBLE;
  const groups = r.array(flexible, (r) => r.string(flexible));
  if (version >= 3) r.bool(); // include_authorized_operations: Weir has no ACLs to report
  r.maybeTaggedFields(flexible);
  return groups;
}

export function encodeDescribeGroupsResponse(w: Writer, version: number, groups: DescribedGroup[]): void {
  const flexible = version >= FIRST_FLEXIBLE;
  if (version >= 1) w.int32(0);
  w.array(groups, flexible, (w, g) => {
    w.int16(g.errorCode).string(g.groupId, flexible).string(g.groupState, flexible);
    w.string(g.protocolType, flexible).string(g.protocolData, flexible);
    w.array(g.members, flexible, (w, m) => {
      w.string(m.memberId, flexible);
      if (version >= 4) w.nullableString(m.groupInstanceId, flexible);
      w.string(m.clientId, flexible).string(m.clientHost, flexible);
      w.bytes(m.memberMetadata, flexible).bytes(m.memberAssignment, flexible).maybeTaggedFields(flexible);
    });
    if (version >= 3) w.int32(AUTHORIZED_OPERATIONS_OMITTED);
    w.maybeTaggedFields(flexible);
  });
  w.maybeTaggedFields(flexible);
}

export function createDescribeGroupsHandler(coordinator: GroupCoordinator) {
  return defineHandler({
    apiKey: ApiKey.DescribeGroups,
    name: 'DescribeGroups',
    minVersion: 0,
    maxVersion: 5,
    firstFlexibleVersion: FIRST_FLEXIBLE,
    decode: decodeDescribeGroupsRequest,
    encode: encodeDescribeGroupsResponse,
    handle: (groupIds) => coordinator.describeGroups(groupIds),
  });
}
