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
import { ApiKey } from '../../../protocol/api-keys.js';
import type { Reader } from '../../../protocol/reader.js';
import type { Writer } from '../../../protocol/writer.js';
import { defineHandler } from '../../handler.js';
import type { GroupCoordinator } from '../coordinator.js';
import type { SyncGroupInput, SyncGroupResult } from '../types.js';

const FIRST_FLEXIBLE = 4;

export function decodeSyncGroupRequest(r: Reader, version: number): SyncGroupInput {
  const flexible = version >= FIRST_FLEXIBLE;
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

export function encodeSyncGroupResponse(w: Writer, version: number, res: SyncGroupResult): void {
  const flexible = version >= FIRST_FLEXIBLE;
  if (version >= 1) w.int32(0);
  w.int16(res.errorCode);
  if (version >= 5) w.nullableString(res.protocolType, flexible).nullableString(res.protocolName, flexible);
  w.bytes(res.assignment, flexible);
  w.maybeTaggedFields(flexible);
}

export function createSyncGroupHandler(coordinator: GroupCoordinator) {
  return defineHandler({
    apiKey: ApiKey.SyncGroup,
    name: 'SyncGroup',
    minVersion: 0,
    maxVersion: 5,
    firstFlexibleVersion: FIRST_FLEXIBLE,
    decode: decodeSyncGroupRequest,
    encode: encodeSyncGroupResponse,
    handle: (req, ctx) => coordinator.syncGroup(req, ctx.connection.signal),
  });
}
