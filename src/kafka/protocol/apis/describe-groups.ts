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
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';
import { AUTHORIZED_OPERATIONS_OMITTED } from './metadata.js';

export const DESCRIBE_GROUPS_FIRST_FLEXIBLE = 5;

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
  groupState: string;
  protocolType: string;
  /** The selected protocol (assignor) name; '' unless Stable, as Kafka shows it. */
  protocolData: string;
  members: DescribedMember[];
}

export function decodeDescribeGroupsRequest(r: Reader, version: number): string[] {
  const flexible = version >= DESCRIBE_GROUPS_FIRST_FLEXIBLE;
  const groups = r.array(flexible, (r) => r.string(flexible));
  if (version >= 3) r.bool(); // include_authorized_operations: Weir has no ACLs to report
  r.maybeTaggedFields(flexible);
  return groups;
}

export function encodeDescribeGroupsResponse(w: Writer, version: number, groups: DescribedGroup[]): void {
  const flexible = version >= DESCRIBE_GROUPS_FIRST_FLEXIBLE;
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
