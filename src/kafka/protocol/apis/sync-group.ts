/**
 * SyncGroup (key 14), versions 0–5; flexible from v4.
 *
 *   SyncGroup Request => group_id:STRING generation_id:INT32 member_id:STRING
 *                        group_instance_id:NULLABLE_STRING (v3+, KIP-345)
 *                        protocol_type:NULLABLE_STRING protocol_name:NULLABLE_STRING (v5+, KIP-559)
 *                        [assignments] => member_id:STRING assignment:BYTES
 *
 *   SyncGroup Response => throttle_time_ms:INT32 (v1+) error_code:INT16
 *                         protocol_type:NULLABLE_STRING protocol_name:NULLABLE_STRING (v5+)
 *                         assignment:BYTES
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const SYNC_GROUP_FIRST_FLEXIBLE = 4;

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** v5+ (KIP-559); null when the client did not send it. */
  protocolType: string | null;
  protocolName: string | null;
  /** Empty from followers; the leader's per-member assignments. */
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface SyncGroupResponse {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export function decodeSyncGroupRequest(r: Reader, version: number): SyncGroupRequest {
  const flexible = version >= SYNC_GROUP_FIRST_FLEXIBLE;
  const groupId = r.string(flexible);
  const generationId = r.int32();
  const memberId = r.string(flexible);
  const groupInstanceId = version >= 3 ? r.nullableString(flexible) : null;
  const protocolType = version >= 5 ? r.nullableString(flexible) : null;
  const protocolName = version >= 5 ? r.nullableString(flexible) : null;
  const assignments = r.array(flexible, (r) => {
    const id = r.string(flexible);
    // Copied: members fetch their assignment long after this request buffer is gone.
    const assignment = Buffer.from(r.bytes(flexible));
    r.maybeTaggedFields(flexible);
    return { memberId: id, assignment };
  });
  r.maybeTaggedFields(flexible);
  return { groupId, generationId, memberId, groupInstanceId, protocolType, protocolName, assignments };
}

export function encodeSyncGroupResponse(w: Writer, version: number, res: SyncGroupResponse): void {
  const flexible = version >= SYNC_GROUP_FIRST_FLEXIBLE;
  if (version >= 1) w.int32(0);
  w.int16(res.errorCode);
  if (version >= 5) w.nullableString(res.protocolType, flexible).nullableString(res.protocolName, flexible);
  w.bytes(res.assignment, flexible);
  w.maybeTaggedFields(flexible);
}
