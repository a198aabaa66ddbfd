/** SyncGroup v0–5: the leader hands out the assignment; every member waits for its own. */
import { ApiKey } from '../../../protocol/api-keys.js';
import { decodeSyncGroupRequest, encodeSyncGroupResponse, SYNC_GROUP_FIRST_FLEXIBLE } from '../../../protocol/apis/sync-group.js';
import { defineHandler } from '../../handler.js';
import type { GroupCoordinator } from '../coordinator.js';

export function createSyncGroupHandler(coordinator: GroupCoordinator) {
  return defineHandler({
    apiKey: ApiKey.SyncGroup,
    name: 'SyncGroup',
    minVersion: 0,
    maxVersion: 5,
    firstFlexibleVersion: SYNC_GROUP_FIRST_FLEXIBLE,
    decode: decodeSyncGroupRequest,
    encode: encodeSyncGroupResponse,
    handle: (req, ctx) => coordinator.syncGroup(req, ctx.connection.signal),
  });
}
