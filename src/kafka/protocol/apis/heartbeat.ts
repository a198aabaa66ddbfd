/**
 * Heartbeat (key 12), versions 0–4; flexible from v4.
 *
 *   Heartbeat Request  => group_id:STRING generation_id:INT32 member_id:STRING
 *                         group_instance_id:NULLABLE_STRING (v3+, KIP-345)
 *   Heartbeat Response => throttle_time_ms:INT32 (v1+) error_code:INT16
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const HEARTBEAT_FIRST_FLEXIBLE = 4;

export interface HeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export function decodeHeartbeatRequest(r: Reader, version: number): HeartbeatRequest {
  const flexible = version >= HEARTBEAT_FIRST_FLEXIBLE;
  const groupId = r.string(flexible);
  const generationId = r.int32();
  const memberId = r.string(flexible);
  const groupInstanceId = version >= 3 ? r.nullableString(flexible) : null;
  r.maybeTaggedFields(flexible);
  return { groupId, generationId, memberId, groupInstanceId };
}

export function encodeHeartbeatResponse(w: Writer, version: number, errorCode: number): void {
  const flexible = version >= HEARTBEAT_FIRST_FLEXIBLE;
  if (version >= 1) w.int32(0);
  w.int16(errorCode).maybeTaggedFields(flexible);
}
