/**
 * The core handlers (everything but consumer groups, which src/kafka/server/groups/ adds) and
 * the state they share. ApiVersions is registered by the listener itself.
 */
import type { RecordLog, TopicAdmin } from '../../../store/types.js';
import type { KafkaHandler } from '../handler.js';
import { ProducerStateManager } from '../producer-state.js';
import { TopicResolver } from '../topics.js';
import type { TransactionCoordinator } from '../transactions/coordinator.js';
import { createAlterConfigsHandler } from './alter-configs.js';
import { createCreatePartitionsHandler } from './create-partitions.js';
import { createCreateTopicsHandler } from './create-topics.js';
import { createDeleteRecordsHandler } from './delete-records.js';
import { createDeleteTopicsHandler } from './delete-topics.js';
import { createDescribeConfigsHandler } from './describe-configs.js';
import { createFetchHandler } from './fetch.js';
import { createInitProducerIdHandler } from './init-producer-id.js';
import { createListOffsetsHandler } from './list-offsets.js';
import { createMetadataHandler } from './metadata.js';
import { createProduceHandler } from './produce.js';

export interface CoreHandlerOptions {
  store: RecordLog & TopicAdmin;
  /** kafka.auto_create_topics_enable */
  autoCreateTopics: boolean;
  /** topic_defaults.partitions, for CreateTopics with num_partitions -1. */
  defaultPartitions: number;
  /** The idempotent producers' state, when the transaction coordinator shares its producer ids. */
  producers?: ProducerStateManager;
  /** Serves transactional ids in InitProducerId and transactional batches in Produce (else both refused). */
  transactions?: TransactionCoordinator;
}

export function coreHandlers(opts: CoreHandlerOptions): KafkaHandler[] {
  const { store } = opts;
  const topics = new TopicResolver(store, opts.autoCreateTopics);
  const { transactions } = opts;
  const producers = opts.producers ?? new ProducerStateManager(store);
  return [
    createMetadataHandler({ store, topics }),
    createProduceHandler({ store, topics, producers, transactions }),
    createFetchHandler({ store }),
    createListOffsetsHandler({ store }),
    createCreateTopicsHandler({ store, defaultPartitions: opts.defaultPartitions }),
    createDeleteTopicsHandler({ store }),
    createInitProducerIdHandler({ producers, transactions }),
    createCreatePartitionsHandler({ store }),
    createDescribeConfigsHandler({ store }),
    createAlterConfigsHandler({ store }),
    createDeleteRecordsHandler({ store }),
  ];
}
