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
 * v0 has no rebalance timeout: the session timeout stands in for it, as in Kafka.
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const JOIN_GROUP_FIRST_FLEXIBLE = 6;

export interface JoinProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinGroupRequest {
  groupId: string;
  sessionTimeoutMs: number;
  /** v0 has none: the session timeout stands in for it, as in Kafka. */
  rebalanceTimeoutMs: number;
  /** '' for a member joining for the first time. */
  memberId: string;
  /** KIP-345 static membership (v5+); null for dynamic members. */
  groupInstanceId: string | null;
  protocolType: string;
  protocols: JoinProtocol[];
}

export interface JoinGroupMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinGroupResponse {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  /** Filled for the leader only: it computes the assignment for everybody. */
  members: JoinGroupMember[];
}

export function decodeJoinGroupRequest(r: Reader, version: number): JoinGroupRequest {
  const flexible = version >= JOIN_GROUP_FIRST_FLEXIBLE;
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

export function encodeJoinGroupResponse(w: Writer, version: number, res: JoinGroupResponse): void {
  const flexible = version >= JOIN_GROUP_FIRST_FLEXIBLE;
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
