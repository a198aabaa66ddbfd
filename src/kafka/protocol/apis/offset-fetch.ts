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
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const OFFSET_FETCH_FIRST_FLEXIBLE = 6;

/** One group's part of the request (v8+ carry several, KIP-709; earlier versions one). */
export interface OffsetFetchGroupRequest {
  groupId: string;
  /** null = every partition the group has an offset for (v2+). */
  topics: { name: string; partitionIndexes: number[] }[] | null;
}

export interface FetchedOffset {
  partitionIndex: number;
  /** -1 when the group has no offset for the partition. */
  committedOffset: number;
  committedLeaderEpoch: number;
  metadata: string;
  errorCode: number;
}

export interface OffsetFetchGroupResponse {
  groupId: string;
  errorCode: number;
  topics: { name: string; partitions: FetchedOffset[] }[];
}

export type OffsetFetchRequest = OffsetFetchGroupRequest[];
export type OffsetFetchResponse = OffsetFetchGroupResponse[];

function readTopics(r: Reader, flexible: boolean): OffsetFetchGroupRequest['topics'] {
  return r.nullableArray(flexible, (r) => {
    const name = r.string(flexible);
    const partitionIndexes = r.array(flexible, (r) => r.int32());
    r.maybeTaggedFields(flexible);
    return { name, partitionIndexes };
  });
}

export function decodeOffsetFetchRequest(r: Reader, version: number): OffsetFetchRequest {
  const flexible = version >= OFFSET_FETCH_FIRST_FLEXIBLE;
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

function writeTopics(w: Writer, version: number, flexible: boolean, topics: OffsetFetchGroupResponse['topics']): void {
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
  const flexible = version >= OFFSET_FETCH_FIRST_FLEXIBLE;
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
