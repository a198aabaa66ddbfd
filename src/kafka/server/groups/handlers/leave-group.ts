/** LeaveGroup v0–5: members leave at once instead of waiting out their session. */
import { ApiKey } from '../../../protocol/api-keys.js';
import { decodeLeaveGroupRequest, encodeLeaveGroupResponse, LEAVE_GROUP_FIRST_FLEXIBLE } from '../../../protocol/apis/leave-group.js';
import { defineHandler } from '../../handler.js';
import type { GroupCoordinator } from '../coordinator.js';

export function createLeaveGroupHandler(coordinator: GroupCoordinator) {
  return defineHandler({
    apiKey: ApiKey.LeaveGroup,
    name: 'LeaveGroup',
    minVersion: 0,
    maxVersion: 5,
    firstFlexibleVersion: LEAVE_GROUP_FIRST_FLEXIBLE,
    decode: decodeLeaveGroupRequest,
    encode: encodeLeaveGroupResponse,
    handle: (req) => coordinator.leaveGroup(req),
  });
}
