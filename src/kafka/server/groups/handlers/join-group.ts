/**
 * JoinGroup v0–9: v4+ asks for KIP-394 (MEMBER_ID_REQUIRED on a first join); the member's client
 * id and host are the connection's.
 */
import { ApiKey } from '../../../protocol/api-keys.js';
import { decodeJoinGroupRequest, encodeJoinGroupResponse, JOIN_GROUP_FIRST_FLEXIBLE } from '../../../protocol/apis/join-group.js';
import { defineHandler } from '../../handler.js';
import type { GroupCoordinator } from '../coordinator.js';

export function createJoinGroupHandler(coordinator: GroupCoordinator) {
  return defineHandler({
    apiKey: ApiKey.JoinGroup,
    name: 'JoinGroup',
    minVersion: 0,
    maxVersion: 9,
    firstFlexibleVersion: JOIN_GROUP_FIRST_FLEXIBLE,
    decode: decodeJoinGroupRequest,
    encode: encodeJoinGroupResponse,
    handle: (req, ctx) =>
      coordinator.joinGroup(
        { ...req, requireKnownMemberId: ctx.apiVersion >= 4, clientId: ctx.header.clientId ?? '', clientHost: `/${ctx.connection.remoteAddress}` },
        ctx.connection.signal,
      ),
  });
}
