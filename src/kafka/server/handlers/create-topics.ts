/**
 * CreateTopics v0–7. One node: replication factor must be 1 or -1 (broker default); manual
 * assignments only give the partition count. validate_only checks everything a create would,
 * store.max_topics and store.max_partitions included, without creating.
 */
import type { TopicAdmin } from '../../../store/types.js';
import { ApiKey } from '../../protocol/api-keys.js';
import {
  CREATE_TOPICS_FIRST_FLEXIBLE, decodeCreateTopicsRequest, encodeCreateTopicsResponse, type CreatableTopic, type CreateTopicResult,
} from '../../protocol/apis/create-topics.js';
import { errorCode, type KafkaErrorName } from '../../protocol/error-codes.js';
import { kafkaErrorCode, kafkaErrorMessage } from '../errors.js';
import { defineHandler } from '../handler.js';
import { ZERO_UUID } from './metadata.js';

const DYNAMIC_TOPIC_CONFIG = 1;
const DEFAULT_CONFIG = 5;

export function createCreateTopicsHandler(deps: { store: TopicAdmin; defaultPartitions: number }) {
  const { store } = deps;

  async function create(t: CreatableTopic, validateOnly: boolean): Promise<CreateTopicResult> {
    const fail = (name: KafkaErrorName, message: string): CreateTopicResult => ({
      name: t.name, topicId: ZERO_UUID, errorCode: errorCode(name), errorMessage: message, numPartitions: -1, replicationFactor: -1, configs: null,
    });
    if (t.replicationFactor !== -1 && t.replicationFactor !== 1) {
      return fail('INVALID_REPLICATION_FACTOR', `replication factor ${t.replicationFactor}: Weir is a single node, use 1 or -1`);
    }
    if (t.assignments > 0 && t.numPartitions !== -1) return fail('INVALID_REQUEST', 'give either num_partitions or assignments, not both');
    const partitions = t.assignments > 0 ? t.assignments : t.numPartitions === -1 ? deps.defaultPartitions : t.numPartitions;
    try {
      if (validateOnly) {
        // What a real create would refuse, the caps included (Kafka's validate_only runs the create policy).
        store.checkCreateTopic(t.name, { partitions, configs: t.configs });
        return { name: t.name, topicId: ZERO_UUID, errorCode: 0, errorMessage: null, numPartitions: partitions, replicationFactor: 1, configs: null };
      }
      const d = await store.createTopic(t.name, { partitions, configs: t.configs });
      const configs = Object.entries(d.config).map(([name, value]) => ({
        name, value: String(value), readOnly: false, isSensitive: false,
        configSource: Object.hasOwn(d.overrides, name) ? DYNAMIC_TOPIC_CONFIG : DEFAULT_CONFIG,
      }));
      return { name: t.name, topicId: ZERO_UUID, errorCode: 0, errorMessage: null, numPartitions: d.partitions.length, replicationFactor: 1, configs };
    } catch (err) {
      return { ...fail('NONE', kafkaErrorMessage(err)), errorCode: kafkaErrorCode(err) };
    }
  }

  return defineHandler({
    apiKey: ApiKey.CreateTopics,
    name: 'CreateTopics',
    minVersion: 0,
    maxVersion: 7,
    firstFlexibleVersion: CREATE_TOPICS_FIRST_FLEXIBLE,
    decode: decodeCreateTopicsRequest,
    encode: encodeCreateTopicsResponse,
    async handle(req) {
      // Sequential: two entries naming one topic must not race each other.
      const topics: CreateTopicResult[] = [];
      for (const t of req.topics) topics.push(await create(t, req.validateOnly));
      return { throttleTimeMs: 0, topics };
    },
  });
}
