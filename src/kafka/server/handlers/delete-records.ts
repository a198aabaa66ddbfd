/** DeleteRecords v0–2: move a partition's log start offset forward (-1 = to the high watermark). */
import type { RecordLog } from '../../../store/types.js';
import { ApiKey } from '../../protocol/api-keys.js';
import { decodeDeleteRecordsRequest, DELETE_RECORDS_FIRST_FLEXIBLE, encodeDeleteRecordsResponse } from '../../protocol/apis/delete-records.js';
import { kafkaErrorCode } from '../errors.js';
import { defineHandler } from '../handler.js';

export function createDeleteRecordsHandler(deps: { store: RecordLog }) {
  const { store } = deps;
  return defineHandler({
    apiKey: ApiKey.DeleteRecords,
    name: 'DeleteRecords',
    minVersion: 0,
    maxVersion: 2,
    firstFlexibleVersion: DELETE_RECORDS_FIRST_FLEXIBLE,
    decode: decodeDeleteRecordsRequest,
    encode: encodeDeleteRecordsResponse,
    handle: async (req) => ({
      throttleTimeMs: 0,
      topics: await Promise.all(req.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(t.partitions.map(async (p) => {
          try {
            await store.deleteRecords(t.name, p.partitionIndex, p.offset);
            return { partitionIndex: p.partitionIndex, lowWatermark: store.offsets(t.name, p.partitionIndex).logStartOffset, errorCode: 0 };
          } catch (err) {
            return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: kafkaErrorCode(err) };
          }
        })),
      }))),
    }),
  });
}
