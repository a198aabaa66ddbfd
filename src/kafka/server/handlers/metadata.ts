/**
 * Metadata: one broker (this one) leads every partition, with itself as the only replica.
 * v0 empty list and v1+ null mean every topic; missing topics are auto-created when
 * kafka.auto_create_topics_enable and the request's allow_auto_topic_creation both say so.
 */
import { ApiKey } from '../../protocol/api-keys.js';
import { decodeMetadataRequest, encodeMetadataResponse, METADATA_FIRST_FLEXIBLE, type MetadataTopic } from '../../protocol/apis/metadata.js';
import { errorCode } from '../../protocol/error-codes.js';
import type { TopicAdmin } from '../../../store/types.js';
import { kafkaErrorCode } from '../errors.js';
import { defineHandler, type BrokerInfo } from '../handler.js';
import type { TopicResolver } from '../topics.js';

/** Weir has no topic ids yet: Kafka's zero UUID means "none". */
export const ZERO_UUID = Buffer.alloc(16);

export function createMetadataHandler(deps: { store: TopicAdmin; topics: TopicResolver }) {
  const { store, topics } = deps;

  function describe(name: string, broker: BrokerInfo): MetadataTopic {
    const count = store.partitionCount(name);
    const partitions = [];
    for (let i = 0; i < count; i++) {
      partitions.push({
        errorCode: 0, partitionIndex: i, leaderId: broker.nodeId, leaderEpoch: 0,
        replicaNodes: [broker.nodeId], isrNodes: [broker.nodeId], offlineReplicas: [],
      });
    }
    return { errorCode: 0, name, topicId: ZERO_UUID, isInternal: false, partitions };
  }

  return defineHandler({
    apiKey: ApiKey.Metadata,
    name: 'Metadata',
    minVersion: 0,
    maxVersion: 12,
    firstFlexibleVersion: METADATA_FIRST_FLEXIBLE,
    decode: decodeMetadataRequest,
    encode: encodeMetadataResponse,
    async handle(req, ctx) {
      const { broker } = ctx;
      const names = req.topics ?? store.listTopics();
      const result = await Promise.all(names.map(async (name): Promise<MetadataTopic> => {
        try {
          if (await topics.ensure(name, req.allowAutoTopicCreation)) return describe(name, broker);
          return { errorCode: errorCode('UNKNOWN_TOPIC_OR_PARTITION'), name, topicId: ZERO_UUID, isInternal: false, partitions: [] };
        } catch (err) {
          return { errorCode: kafkaErrorCode(err), name, topicId: ZERO_UUID, isInternal: false, partitions: [] };
        }
      }));
      return {
        throttleTimeMs: 0,
        brokers: [{ nodeId: broker.nodeId, host: broker.host, port: broker.port, rack: null }],
        clusterId: broker.clusterId,
        controllerId: broker.nodeId,
        topics: result,
      };
    },
  });
}
