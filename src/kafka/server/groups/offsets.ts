/**
 * OffsetCommit and OffsetFetch against the store. The coordinator decides whether the committer
 * may commit (generation and member checks); the store makes the commit durable, and only then
 * is the answer sent: acknowledged means on disk, for offsets as for records.
 */
import { isWeirError } from '../../../errors.js';
import type { GroupOffset } from '../../../store/types.js';
import * as codes from './codes.js';
import type { ResolvedGroupOptions } from './options.js';
import type { FetchedOffset, OffsetCommitInput, OffsetCommitResult, OffsetFetchInput, OffsetFetchResult } from './types.js';

/** What commits and fetches ask of the coordinator: its options, and whether a committer may commit. */
export interface OffsetsCoordinator {
  readonly options: ResolvedGroupOptions;
  checkCommit(req: Pick<OffsetCommitInput, 'groupId' | 'generationId' | 'memberId' | 'groupInstanceId'>): number;
}

type Committable = { topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string | null };

export async function commitOffsets(coordinator: OffsetsCoordinator, req: OffsetCommitInput): Promise<OffsetCommitResult> {
  const { store } = coordinator.options;
  const groupError = coordinator.checkCommit(req);
  const errors = new Map<string, number>();
  const key = (topic: string, partition: number): string => `${partition}:${topic}`;
  const valid: Committable[] = [];
  for (const t of req.topics) {
    for (const p of t.partitions) {
      const code = offsetError(coordinator, groupError, t.name, p.partitionIndex, p.committedMetadata);
      errors.set(key(t.name, p.partitionIndex), code);
      if (code === codes.NONE) {
        valid.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata });
      }
    }
  }
  if (valid.length > 0) {
    try {
      await store.commitGroupOffsets(req.groupId, valid);
    } catch (err) {
      const code = storeErrorCode(err);
      for (const v of valid) errors.set(key(v.topic, v.partition), code);
    }
  }
  return {
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errors.get(key(t.name, p.partitionIndex)) ?? codes.NONE })),
    })),
  };
}

/**
 * The error one partition's commit gets: the group's (when not NONE), an unknown partition, or
 * metadata over offset.metadata.max.bytes. OffsetCommit and TxnOffsetCommit share it.
 */
export function offsetError(coordinator: Pick<OffsetsCoordinator, 'options'>, groupError: number, topic: string, partition: number, metadata: string | null): number {
  if (groupError !== codes.NONE) return groupError;
  const code = partitionError(coordinator, topic, partition);
  if (code !== codes.NONE) return code;
  return metadata !== null && Buffer.byteLength(metadata) > coordinator.options.maxOffsetMetadataBytes ? codes.OFFSET_METADATA_TOO_LARGE : codes.NONE;
}

function partitionError(coordinator: Pick<OffsetsCoordinator, 'options'>, topic: string, partition: number): number {
  try {
    coordinator.options.store.offsets(topic, partition);
    return codes.NONE;
  } catch (err) {
    return isWeirError(err, 'UNKNOWN_TOPIC_OR_PARTITION') ? codes.UNKNOWN_TOPIC_OR_PARTITION : storeErrorCode(err);
  }
}

/**
 * As Kafka's GroupMetadataManager maps log failures for offsets: a store that may recover
 * (closing, full queue, I/O) is "coordinator not available", which every client retries after
 * finding the coordinator again; anything else is not the client's to retry.
 */
export function storeErrorCode(err: unknown): number {
  return isWeirError(err) && err.retriable ? codes.COORDINATOR_NOT_AVAILABLE : codes.UNKNOWN_SERVER_ERROR;
}

/** OffsetFetch: every stored partition when `topics` is null, else the requested ones (-1 when none). */
export function fetchOffsets(coordinator: OffsetsCoordinator, req: OffsetFetchInput): OffsetFetchResult {
  let stored: GroupOffset[];
  try {
    stored = coordinator.options.store.fetchGroupOffsets(req.groupId);
  } catch (err) {
    return { errorCode: storeErrorCode(err), topics: [] };
  }
  const byTopic = new Map<string, Map<number, FetchedOffset>>();
  for (const o of stored) {
    let partitions = byTopic.get(o.topic);
    if (!partitions) byTopic.set(o.topic, (partitions = new Map()));
    // Kafka stores a null commit metadata as "" and returns "": so does Weir.
    partitions.set(o.partition, { partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata ?? '', errorCode: codes.NONE });
  }
  if (req.topics === null) {
    return { errorCode: codes.NONE, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions: [...partitions.values()].sort((a, b) => a.partitionIndex - b.partitionIndex) })) };
  }
  return {
    errorCode: codes.NONE,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map(
        (i) => byTopic.get(t.name)?.get(i) ?? { partitionIndex: i, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: codes.NONE },
      ),
    })),
  };
}
