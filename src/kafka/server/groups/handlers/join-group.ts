/**
 * JoinGroup (key 11), versions 0–9; flexible from v6.
 *
 *   JoinGroup Request => group_id:STRING session_timeout_ms:INT32
 *                        rebalance_timeout_ms:INT32 (v1+) member_id:STRING
 *                        group_instance_id:NULLABLE_STRING (v5+, KIP-345) protocol_type:STRING
 *                        [protocols] => name:STRING metadata:BYTES
 *                        reason:NULLABLE_STRING (v8+, KIP-800)
 *
 *   JoinGroup Response => throttle_time_ms:INT32 (v2+) error_code:INT16 generation_id:INT32
 *                         protocol_type:NULLABLE_STRING (v7+, KIP-559)
 *                         protocol_name:STRING (NULLABLE from v7)
 *                         leader:STRING skip_assignment:BOOLEAN (v9+, KIP-814) member_id:STRING
 *                         [members] => member_id:STRING group_instance_id:NULLABLE_STRING (v5+) metadata:BYTES
 *
 * v4+ asks for KIP-394 (MEMBER_ID_REQUIRED on a first join). v0 has no rebalance timeout: the
 * session timeout stands in for it, as in Kafka.
 */
import { ApiKey } from '../../../protocol/api-keys.js';
import type { Reader } from '../../../protocol/reader.js';
import type { Writer } from '../../../protocol/writer.js';
import { defineHandler } from '../../handler.js';
import type { GroupCoordinator } from '../coordinator.js';
import type { JoinGroupInput, JoinGroupResult } from '../types.js';

const FIRST_FLEXIBLE = 6;

export type JoinGroupRequest = Omit<JoinGroupInput, 'requireKnownMemberId' | 'clientId' | 'clientHost'>;

export function decodeJoinGroupRequest(r: Reader, version: number): JoinGroupRequest {
  const flexible = version >= FIRST_FLEXIBLE;
  const groupId = r.string(flexible);
  const sessionTimeoutMs = r.int32();
  const rebalanceTimeoutMs = version >= 1 ? r.int32() : sessionTimeoutMs;
  const memberId = r.string(flexible);
  const groupInstanceId = version >= 5 ? r.nullableString(flexible) : null;
  const protocolType = r.string(flexible);
  const protocols = r.array(flexible, (r) => {
    const name = r.string(flexible);
    // Copied: the request buffer is not ours to keep, and the leader gets this back later.
    const metadata = Buffer.from(r.bytes(flexible));
    r.maybeTaggedFields(flexible);
    return { name, metadata };
  });
  if (version >= 8) r.nullableString(flexible); // reason: for the broker's log only
  r.maybeTaggedFields(flexible);
  return { groupId, sessionTimeoutMs, rebalanceTimeoutMs, memberId, groupInstanceId, protocolType, protocols };
}

export function encodeJoinGroupResponse(w: Writer, version: number, res: JoinGroupResult): void {
  const flexible = version >= FIRST_FLEXIBLE;
  if (version >= 2) w.int32(0);
  w.int16(res.errorCode).int32(res.generationId);
  if (version >= 7) w.nullableString(res.protocolType, flexible).nullableString(res.protocolName, flexible);
  else w.string(res.protocolName ?? '', flexible);
  w.string(res.leader, flexible);
  if (version >= 9) w.bool(false);
  w.string(res.memberId, flexible);
  w.array(res.members, flexible, (w, m) => {
    w.string(m.memberId, flexible);
    if (version >= 5) w.nullableString(m.groupInstanceId, flexible);
    w.bytes(m.metadata, flexible).maybeTaggedFields(flexible);
  });
  w.maybeTaggedFields(flexible);
}

export function createJoinGroupHandler(coordinator: GroupCoordinator) {
  return defineHandler({
    apiKey: ApiKey.JoinGroup,
    name: 'JoinGroup',
    minVersion: 0,
    maxVersion: 9,
    firstFlexibleVersion: FIRST_FLEXIBLE,
    decode: decodeJoinGroupRequest,
    encode: encodeJoinGroupResponse,
    handle: (req, ctx) =>
      coordinator.joinGroup(
        { ...req, requireKnownMemberId: ctx.apiVersion >= 4, clientId: ctx.header.clientId ?? '', clientHost: `/${ctx.connection.remoteAddress}` },
        ctx.connection.signal,
      ),
  });
}
