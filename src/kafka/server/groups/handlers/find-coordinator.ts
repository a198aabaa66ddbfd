/**
 * FindCoordinator (key 10), versions 0–4; flexible from v3. Weir is a single node and
 * coordinates every group itself (admin.ts decides the answer).
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
import { ApiKey } from '../../../protocol/api-keys.js';
import type { Reader } from '../../../protocol/reader.js';
import type { Writer } from '../../../protocol/writer.js';
import { defineHandler } from '../../handler.js';
import { findCoordinator, KEY_TYPE_GROUP, type CoordinatorAnswer } from '../admin.js';

const FIRST_FLEXIBLE = 3;

export interface FindCoordinatorRequest {
  keyType: number;
  keys: string[];
}

export function decodeFindCoordinatorRequest(r: Reader, version: number): FindCoordinatorRequest {
  const flexible = version >= FIRST_FLEXIBLE;
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
  const flexible = version >= FIRST_FLEXIBLE;
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

export function createFindCoordinatorHandler() {
  return defineHandler({
    apiKey: ApiKey.FindCoordinator,
    name: 'FindCoordinator',
    minVersion: 0,
    maxVersion: 4,
    firstFlexibleVersion: FIRST_FLEXIBLE,
    decode: decodeFindCoordinatorRequest,
    encode: encodeFindCoordinatorResponse,
    handle: (req, ctx) => findCoordinator(req.keys, req.keyType, ctx.broker),
  });
}
