/**
 * ListOffsets v1–7: -2 earliest (log start offset), -1 latest (the high watermark, or for
 * isolation_level 1, read_committed, the last stable offset: KIP-98), a timestamp → the first offset whose record
 * timestamp is at or after it (offset -1 when there is none, as Kafka answers).
 * -3 (KIP-734, max timestamp) needs a per-partition max-timestamp index the store does not
 * keep yet: it is answered with UNSUPPORTED_VERSION for that partition.
 */
import type { RecordLog } from '../../../store/types.js';
import { ApiKey } from '../../protocol/api-keys.js';
import {
  decodeListOffsetsRequest, EARLIEST_TIMESTAMP, encodeListOffsetsResponse, LATEST_TIMESTAMP, LIST_OFFSETS_FIRST_FLEXIBLE,
  MAX_TIMESTAMP, type ListOffsetsPartitionResponse,
} from '../../protocol/apis/list-offsets.js';
import { errorCode } from '../../protocol/error-codes.js';
import { kafkaErrorCode } from '../errors.js';
import { defineHandler } from '../handler.js';

function lookup(store: RecordLog, topic: string, partition: number, timestamp: number, committed: boolean): ListOffsetsPartitionResponse {
  const base = { partitionIndex: partition, errorCode: 0, timestamp: -1, offset: -1, leaderEpoch: 0 };
  try {
    if (timestamp === EARLIEST_TIMESTAMP) return { ...base, offset: store.offsets(topic, partition).logStartOffset };
    if (timestamp === LATEST_TIMESTAMP) {
      const o = store.offsets(topic, partition);
      return { ...base, offset: committed ? o.lastStableOffset : o.highWatermark };
    }
    if (timestamp === MAX_TIMESTAMP || timestamp < 0) return { ...base, errorCode: errorCode('UNSUPPORTED_VERSION') };
    const found = store.offsetForTimestamp(topic, partition, timestamp);
    return found === null ? base : { ...base, offset: found.offset, timestamp: found.timestamp };
  } catch (err) {
    return { ...base, errorCode: kafkaErrorCode(err), leaderEpoch: -1 };
  }
}

export function createListOffsetsHandler(deps: { store: RecordLog }) {
  const { store } = deps;
  return defineHandler({
    apiKey: ApiKey.ListOffsets,
    name: 'ListOffsets',
    minVersion: 1,
    maxVersion: 7,
    firstFlexibleVersion: LIST_OFFSETS_FIRST_FLEXIBLE,
    decode: decodeListOffsetsRequest,
    encode: encodeListOffsetsResponse,
    handle: (req) => ({
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => lookup(store, t.name, p.partitionIndex, p.timestamp, req.isolationLevel === 1)),
      })),
    }),
  });
}
