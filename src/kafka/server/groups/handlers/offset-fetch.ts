/** OffsetFetch v1–9: a group's committed offsets, for one group or (v8+) several. */
import { ApiKey } from '../../../protocol/api-keys.js';
import { decodeOffsetFetchRequest, encodeOffsetFetchResponse, OFFSET_FETCH_FIRST_FLEXIBLE, type OffsetFetchResponse } from '../../../protocol/apis/offset-fetch.js';
import { defineHandler } from '../../handler.js';
import type { GroupCoordinator } from '../coordinator.js';

export function createOffsetFetchHandler(coordinator: GroupCoordinator) {
  return defineHandler({
    apiKey: ApiKey.OffsetFetch,
    name: 'OffsetFetch',
    minVersion: 1,
    maxVersion: 9,
    firstFlexibleVersion: OFFSET_FETCH_FIRST_FLEXIBLE,
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
