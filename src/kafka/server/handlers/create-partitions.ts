/** CreatePartitions v0–3: grow a topic (never shrink); manual assignments are ignored on one node. */
import type { TopicAdmin } from '../../../store/types.js';
import { ApiKey } from '../../protocol/api-keys.js';
import { CREATE_PARTITIONS_FIRST_FLEXIBLE, decodeCreatePartitionsRequest, encodeCreatePartitionsResponse } from '../../protocol/apis/create-partitions.js';
import { errorCode } from '../../protocol/error-codes.js';
import { kafkaErrorCode, kafkaErrorMessage } from '../errors.js';
import { defineHandler } from '../handler.js';

export function createCreatePartitionsHandler(deps: { store: TopicAdmin }) {
  const { store } = deps;
  return defineHandler({
    apiKey: ApiKey.CreatePartitions,
    name: 'CreatePartitions',
    minVersion: 0,
    maxVersion: 3,
    firstFlexibleVersion: CREATE_PARTITIONS_FIRST_FLEXIBLE,
    decode: decodeCreatePartitionsRequest,
    encode: encodeCreatePartitionsResponse,
    async handle(req) {
      const results = [];
      for (const t of req.topics) {
        try {
          const current = store.describeTopic(t.name).partitions.length;
          if (t.count <= current) {
            results.push({ name: t.name, errorCode: errorCode('INVALID_PARTITIONS'), errorMessage: `topic ${t.name} has ${current} partitions, and partitions can only grow: give a count above ${current}` });
            continue;
          }
          if (!req.validateOnly) await store.createPartitions(t.name, t.count);
          results.push({ name: t.name, errorCode: 0, errorMessage: null });
        } catch (err) {
          results.push({ name: t.name, errorCode: kafkaErrorCode(err), errorMessage: kafkaErrorMessage(err) });
        }
      }
      return { throttleTimeMs: 0, results };
    },
  });
}
