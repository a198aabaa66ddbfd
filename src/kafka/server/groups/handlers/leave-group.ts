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
import { ApiKey } from '../../../protocol/api-keys.js';
import type { Reader } from '../../../protocol/reader.js';
import type { Writer } from '../../../protocol/writer.js';
import { defineHandler } from '../../handler.js';
import type { GroupCoordinator } from '../coordinator.js';
import type { LeaveGroupInput, LeaveGroupResult } from '../types.js';

const FIRST_FLEXIBLE = 4;

export function decodeLeaveGroupRequest(r: Reader, version: number): LeaveGroupInput {
  const flexible = version >= FIRST_FLEXIBLE;
  const groupId = r.string(flexible);
  let members: LeaveGroupInput['members'];
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

export function encodeLeaveGroupResponse(w: Writer, version: number, res: LeaveGroupResult): void {
  const flexible = version >= FIRST_FLEXIBLE;
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

export function createLeaveGroupHandler(coordinator: GroupCoordinator) {
  return defineHandler({
    apiKey: ApiKey.LeaveGroup,
    name: 'LeaveGroup',
    minVersion: 0,
    maxVersion: 5,
    firstFlexibleVersion: FIRST_FLEXIBLE,
    decode: decodeLeaveGroupRequest,
    encode: encodeLeaveGroupResponse,
    handle: (req) => coordinator.leaveGroup(req),
  });
}
