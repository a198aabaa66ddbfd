/**
 * LeaveGroup (key 13), versions 0–5; flexible from v4.
 *
 *   LeaveGroup Request (Version: 0–2) => group_id:STRING member_id:STRING
 *   LeaveGroup Request (Version: 3–5) => group_id:STRING
 *                                        [members] => member_id:STRING group_instance_id:NULLABLE_STRING
 *                                                     reason:NULLABLE_STRING (v5+, KIP-800)
 *
 *   LeaveGroup Response => throttle_time_ms:INT32 (v1+) error_code:INT16
 *                          [members] (v3+) => member_id:STRING group_instance_id:NULLABLE_STRING error_code:INT16
 *
 * v0–2 have one member and no per-member codes: its code becomes the top-level error_code.
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const LEAVE_GROUP_FIRST_FLEXIBLE = 4;

export interface LeaveGroupRequest {
  groupId: string;
  /** v0–2 carry one member id; v3+ a batch (KIP-345). */
  members: { memberId: string; groupInstanceId: string | null }[];
}

export interface LeaveGroupResponse {
  errorCode: number;
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

export function decodeLeaveGroupRequest(r: Reader, version: number): LeaveGroupRequest {
  const flexible = version >= LEAVE_GROUP_FIRST_FLEXIBLE;
  const groupId = r.string(flexible);
  let members: LeaveGroupRequest['members'];
  if (version >= 3) {
    members = r.array(flexible, (r) => {
      const memberId = r.string(flexible);
      const groupInstanceId = r.nullableString(flexible);
      if (version >= 5) r.nullableString(flexible); // reason: for the broker's log only
      r.maybeTaggedFields(flexible);
      return { memberId, groupInstanceId };
    });
  } else {
    members = [{ memberId: r.string(flexible), groupInstanceId: null }];
  }
  r.maybeTaggedFields(flexible);
  return { groupId, members };
}

export function encodeLeaveGroupResponse(w: Writer, version: number, res: LeaveGroupResponse): void {
  const flexible = version >= LEAVE_GROUP_FIRST_FLEXIBLE;
  if (version >= 1) w.int32(0);
  if (version >= 3) {
    w.int16(res.errorCode);
    w.array(res.members, flexible, (w, m) => {
      w.string(m.memberId, flexible).nullableString(m.groupInstanceId, flexible).int16(m.errorCode).maybeTaggedFields(flexible);
    });
  } else {
    w.int16(res.errorCode !== 0 ? res.errorCode : (res.members[0]?.errorCode ?? 0));
  }
  w.maybeTaggedFields(flexible);
}
