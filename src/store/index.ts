/** The log store's entry point: the only way the rest of Weir opens one. */
import type { Logger } from '../logger.js';
import { LmdbStore } from './lmdb-store.js';
import type { LogStore, StoreOptions } from './types.js';

export type * from './types.js';
export { TOPIC_CONFIG_NAMES, TOPIC_CONFIG_SPECS, kafkaTopicDefaults, parseTopicConfigs, validateTopicName } from './topic-config.js';
export type { TopicConfig, TopicConfigName, OverflowPolicy, CleanupPolicy } from './topic-config.js';

/** Opens (creating if needed) the store in `options.dir`, taking its single-writer lock. */
export async function openStore(options: StoreOptions, logger: Logger): Promise<LogStore> {
  return LmdbStore.open(options, logger);
}
