/**
 * TxnOffsetCommit's checks of the group and the partitions (Kafka's
 * GroupCoordinator.doTxnCommitOffsets): what OffsetCommit checks, except that a producer that
 * is no member (v0–2 send none, or member "" and generation -1) may commit for any group, as in
 * Kafka. The offsets are held in the transaction until it commits.
 */
import type { TxnOffsetCommitRequest } from '../../protocol/apis/txn-offset-commit.js';
import type { Group } from '../groups/group.js';
import { offsetError, type OffsetsCoordinator } from '../groups/offsets.js';
import * as codes from '../groups/codes.js';
import type { PendingTxnOffset } from './types.js';

/** What the checks ask of the group coordinator. */
export interface TxnGroupView {
  readonly options: OffsetsCoordinator['options'];
  group(groupId: string): Group | undefined;
}

/** NONE, or the error every partition of the request gets. */
export function txnCommitGroupError(groups: TxnGroupView, req: TxnOffsetCommitRequest): number {
  if (req.groupId === '') return codes.INVALID_GROUP_ID;
  const group = groups.group(req.groupId);
  if (group === undefined) {
    if (req.memberId !== '') return codes.UNKNOWN_MEMBER_ID;
    return req.generationId >= 0 ? codes.ILLEGAL_GENERATION : codes.NONE;
  }
  if (group.isFenced(req.memberId, req.groupInstanceId)) return codes.FENCED_INSTANCE_ID;
  if (req.memberId !== '' && !group.members.has(req.memberId)) return codes.UNKNOWN_MEMBER_ID;
  if (req.generationId >= 0 && req.generationId !== group.generationId) return codes.ILLEGAL_GENERATION;
  return codes.NONE;
}

/**
 * Per partition: NONE and the offset to hold, or the error (unknown partition, metadata too
 * long). `groupError` (from txnCommitGroupError) applies to all when it is not NONE.
 */
export function checkTxnOffsets(groups: TxnGroupView, req: TxnOffsetCommitRequest, groupError: number): { errors: number[][]; valid: PendingTxnOffset[] } {
  const valid: PendingTxnOffset[] = [];
  const errors = req.topics.map((t) => t.partitions.map((p) => {
    const code = offsetError(groups, groupError, t.name, p.partitionIndex, p.committedMetadata);
    if (code === codes.NONE) {
      valid.push({ group: req.groupId, topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata });
    }
    return code;
  }));
  return { errors, valid };
}
