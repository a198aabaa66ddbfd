/** DeleteTopics v0–6. Topics named only by id (v6) cannot be resolved: Weir has no topic ids. */
import type { TopicAdmin } from '../../../store/types.js';
import { ApiKey } from '../../protocol/api-keys.js';
import { decodeDeleteTopicsRequest, DELETE_TOPICS_FIRST_FLEXIBLE, encodeDeleteTopicsResponse, type DeleteTopicResult } from '../../protocol/apis/delete-topics.js';
import { errorCode } from '../../protocol/error-codes.js';
import { kafkaErrorCode, kafkaErrorMessage } from '../errors.js';
import { defineHandler } from '../handler.js';
import { ZERO_UUID } from './metadata.js';

export function createDeleteTopicsHandler(deps: { store: TopicAdmin }) {
  return defineHandler({
    apiKey: ApiKey.DeleteTopics,
    name: 'DeleteTopics',
    minVersion: 0,
    maxVersion: 6,
    firstFlexibleVersion: DELETE_TOPICS_FIRST_FLEXIBLE,
    decode: decodeDeleteTopicsRequest,
    encode: encodeDeleteTopicsResponse,
    async handle(req) {
      const responses: DeleteTopicResult[] = [];
      for (const name of req.names) {
        if (name === null) {
          responses.push({ name, topicId: ZERO_UUID, errorCode: errorCode('UNKNOWN_TOPIC_OR_PARTITION'), errorMessage: 'Weir has no topic ids: name the topic' });
          continue;
        }
        try {
          await deps.store.deleteTopic(name);
          responses.push({ name, topicId: ZERO_UUID, errorCode: 0, errorMessage: null });
        } catch (err) {
          responses.push({ name, topicId: ZERO_UUID, errorCode: kafkaErrorCode(err), errorMessage: kafkaErrorMessage(err) });
        }
      }
      return { throttleTimeMs: 0, responses };
    },
  });
}
