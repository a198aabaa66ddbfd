/**
 * FindCoordinator (key 10), versions 0–4; flexible from v3.
 *
 *   FindCoordinator Request (Version: 0)   => key:STRING
 *   FindCoordinator Request (Version: 1–3) => key:STRING key_type:INT8
 *   FindCoordinator Request (Version: 4)   => key_type:INT8 [coordinator_keys:STRING]   (KIP-699)
 *
 *   FindCoordinator Response (Version: 0)   => error_code:INT16 node_id:INT32 host:STRING port:INT32
 *   FindCoordinator Response (Version: 1–3) => throttle_time_ms:INT32 error_code:INT16
 *                                              error_message:NULLABLE_STRING node_id:INT32 host:STRING port:INT32
 *   FindCoordinator Response (Version: 4)   => throttle_time_ms:INT32
 *                                              [coordinators] => key:STRING node_id:INT32 host:STRING port:INT32
 *                                                                error_code:INT16 error_message:NULLABLE_STRING
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const FIND_COORDINATOR_FIRST_FLEXIBLE = 3;

/** key_type 0: a consumer group's coordinator. */
export const KEY_TYPE_GROUP = 0;
/** key_type 1: a transactional id's coordinator (KIP-98). */
export const KEY_TYPE_TRANSACTION = 1;

export interface FindCoordinatorRequest {
  keyType: number;
  keys: string[];
}

export interface CoordinatorAnswer {
  key: string;
  nodeId: number;
  host: string;
  port: number;
  errorCode: number;
  errorMessage: string | null;
}

export function decodeFindCoordinatorRequest(r: Reader, version: number): FindCoordinatorRequest {
  const flexible = version >= FIND_COORDINATOR_FIRST_FLEXIBLE;
  let req: FindCoordinatorRequest;
  if (version >= 4) {
    const keyType = r.int8();
    req = { keyType, keys: r.array(flexible, (r) => r.string(flexible)) };
  } else {
    const key = r.string(flexible);
    req = { keyType: version >= 1 ? r.int8() : KEY_TYPE_GROUP, keys: [key] };
  }
  r.maybeTaggedFields(flexible);
  return req;
}

export function encodeFindCoordinatorResponse(w: Writer, version: number, coordinators: CoordinatorAnswer[]): void {
  const flexible = version >= FIND_COORDINATOR_FIRST_FLEXIBLE;
  if (version >= 1) w.int32(0);
  if (version >= 4) {
    w.array(coordinators, flexible, (w, c) => {
      w.string(c.key, flexible).int32(c.nodeId).string(c.host, flexible).int32(c.port);
      w.int16(c.errorCode).nullableString(c.errorMessage, flexible).maybeTaggedFields(flexible);
    });
  } else {
    // v0–3 carry exactly one key, so exactly one answer.
    const c = coordinators[0]!;
    w.int16(c.errorCode);
    if (version >= 1) w.nullableString(c.errorMessage, flexible);
    w.int32(c.nodeId).string(c.host, flexible).int32(c.port);
  }
  w.maybeTaggedFields(flexible);
}
