/**
 * OffsetFetch (key 9), versions 1–9; flexible from v6.
 *
 *   OffsetFetch Request (Version: 1–7) => group_id:STRING
 *                                         [topics] (nullable from v2: null = all) => name:STRING [partition_indexes:INT32]
 *                                         require_stable:BOOLEAN (v7+, KIP-447)
 *   OffsetFetch Request (Version: 8–9) => [groups] => group_id:STRING
 *                                                    member_id:NULLABLE_STRING member_epoch:INT32 (v9+, KIP-848)
 *                                                    [topics] (nullable) => name:STRING [partition_indexes:INT32]
 *                                         require_stable:BOOLEAN                      (KIP-709: many groups)
 *
 *   OffsetFetch Response (Version: 1–7) => throttle_time_ms:INT32 (v3+)
 *                                          [topics] => name:STRING
 *                                                      [partitions] => partition_index:INT32 committed_offset:INT64
 *                                                                      committed_leader_epoch:INT32 (v5+)
 *                                                                      metadata:NULLABLE_STRING error_code:INT16
 *                                          error_code:INT16 (v2+)
 *   OffsetFetch Response (Version: 8–9) => throttle_time_ms:INT32
 *                                          [groups] => group_id:STRING [topics] (as above) error_code:INT16
 *
 * require_stable needs no waiting: Weir has no transactional offset commits pending.
 */
import { ApiKey } from '../../../protocol/api-keys.js';
import type { Reader } from '../../../protocol/reader.js';
import type { Writer } from '../../../protocol/writer.js';
import { defineHandler } from '../../handler.js';
import type { GroupCoordinator } from '../coordinator.js';
import type { OffsetFetchInput, OffsetFetchResult } from '../types.js';

const FIRST_FLEXIBLE = 6;

export type OffsetFetchRequest = OffsetFetchInput[];
export type OffsetFetchResponse = (OffsetFetchResult & { groupId: string })[];

function readTopics(r: Reader, flexible: boolean): OffsetFetchInput['topics'] {
  return r.nullableArray(flexible, (r) => {
    const name = r.string(flexible);
    const partitionIndexes = r.array(flexible, (r) => r.int32());
    r.maybeTaggedFields(flexible);
    return { name, partitionIndexes };
  });
}

export function decodeOffsetFetchRequest(r: Reader, version: number): OffsetFetchRequest {
  const flexible = version >= FIRST_FLEXIBLE;
  let groups: OffsetFetchRequest;
  if (version >= 8) {
    groups = r.array(flexible, (r) => {
      const groupId = r.string(flexible);
      if (version >= 9) {
        r.nullableString(flexible); // member_id: only KIP-848 groups check it
        r.int32(); // member_epoch
      }
      const topics = readTopics(r, flexible);
      r.maybeTaggedFields(flexible);
      return { groupId, topics };
    });
  } else {
    const groupId = r.string(flexible);
    groups = [{ groupId, topics: readTopics(r, flexible) }];
  }
  if (version >= 7) r.bool(); // require_stable
  r.maybeTaggedFields(flexible);
  return groups;
}

function writeTopics(w: Writer, version: number, flexible: boolean, topics: OffsetFetchResult['topics']): void {
  w.array(topics, flexible, (w, t) => {
    w.string(t.name, flexible);
    w.array(t.partitions, flexible, (w, p) => {
      w.int32(p.partitionIndex).int64(p.committedOffset);
      if (version >= 5) w.int32(p.committedLeaderEpoch);
      w.nullableString(p.metadata, flexible).int16(p.errorCode).maybeTaggedFields(flexible);
    });
    w.maybeTaggedFields(flexible);
  });
}

export function encodeOffsetFetchResponse(w: Writer, version: number, res: OffsetFetchResponse): void {
  const flexible = version >= FIRST_FLEXIBLE;
  if (version >= 3) w.int32(0);
  if (version >= 8) {
    w.array(res, flexible, (w, g) => {
      w.string(g.groupId, flexible);
      writeTopics(w, version, flexible, g.topics);
      w.int16(g.errorCode).maybeTaggedFields(flexible);
    });
  } else {
    const g = res[0]!;
    writeTopics(w, version, flexible, g.topics);
    if (version >= 2) w.int16(g.errorCode);
  }
  w.maybeTaggedFields(flexible);
}

export function createOffsetFetchHandler(coordinator: GroupCoordinator) {
  return defineHandler({
    apiKey: ApiKey.OffsetFetch,
    name: 'OffsetFetch',
    minVersion: 1,
    maxVersion: 9,
    firstFlexibleVersion: FIRST_FLEXIBLE,
    decode: decodeOffsetFetchRequest,
    encode: encodeOffsetFetchResponse,
    handle: (req, ctx): OffsetFetchResponse =>
      req.map((g) => {
        // v1 has no "all partitions" form; an empty list there asks for nothing.
        const topics = ctx.apiVersion < 2 && g.topics === null ? [] : g.topics;
        return { groupId: g.groupId, ...coordinator.fetchOffsets({ groupId: g.groupId, topics }) };
      }),
  });
}
