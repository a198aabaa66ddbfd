/** Heartbeat v0–4: keeps a member's session alive and tells it when to rejoin. */
import { ApiKey } from '../../../protocol/api-keys.js';
import { decodeHeartbeatRequest, encodeHeartbeatResponse, HEARTBEAT_FIRST_FLEXIBLE } from '../../../protocol/apis/heartbeat.js';
import { defineHandler } from '../../handler.js';
import type { GroupCoordinator } from '../coordinator.js';

export function createHeartbeatHandler(coordinator: GroupCoordinator) {
  return defineHandler({
    apiKey: ApiKey.Heartbeat,
    name: 'Heartbeat',
    minVersion: 0,
    maxVersion: 4,
    firstFlexibleVersion: HEARTBEAT_FIRST_FLEXIBLE,
    decode: decodeHeartbeatRequest,
    encode: encodeHeartbeatResponse,
    handle: (req) => coordinator.heartbeat(req),
  });
}
