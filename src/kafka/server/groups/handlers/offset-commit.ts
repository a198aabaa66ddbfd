/** OffsetCommit v2–9: stores a group's consumed offsets. */
import { ApiKey } from '../../../protocol/api-keys.js';
import { decodeOffsetCommitRequest, encodeOffsetCommitResponse, OFFSET_COMMIT_FIRST_FLEXIBLE } from '../../../protocol/apis/offset-commit.js';
import { defineHandler } from '../../handler.js';
import type { GroupCoordinator } from '../coordinator.js';

export function createOffsetCommitHandler(coordinator: GroupCoordinator) {
  return defineHandler({
    apiKey: ApiKey.OffsetCommit,
    name: 'OffsetCommit',
    minVersion: 2,
    maxVersion: 9,
    firstFlexibleVersion: OFFSET_COMMIT_FIRST_FLEXIBLE,
    decode: decodeOffsetCommitRequest,
    encode: encodeOffsetCommitResponse,
    handle: (req) => coordinator.commitOffsets(req),
  });
}
