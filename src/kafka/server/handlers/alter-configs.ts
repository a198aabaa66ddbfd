/**
 * AlterConfigs v0–2 for topics: the configs given become the topic's whole set of overrides
 * (Kafka's non-incremental semantics); overrides not given are removed, so they follow
 * topic_defaults again. validate_only checks the values without applying them. Broker resources
 * are refused: Weir's broker settings live in its own config file.
 */
import type { TopicAdmin } from '../../../store/types.js';
import { parseTopicConfigs } from '../../../store/topic-config.js';
import { ApiKey } from '../../protocol/api-keys.js';
import { ALTER_CONFIGS_FIRST_FLEXIBLE, decodeAlterConfigsRequest, encodeAlterConfigsResponse, type AlterConfigsResource, type AlterConfigsResult } from '../../protocol/apis/alter-configs.js';
import { RESOURCE_TYPE_TOPIC } from '../../protocol/apis/describe-configs.js';
import { errorCode } from '../../protocol/error-codes.js';
import { kafkaErrorCode, kafkaErrorMessage } from '../errors.js';
import { defineHandler } from '../handler.js';

async function alterTopic(store: TopicAdmin, r: AlterConfigsResource, validateOnly: boolean): Promise<void> {
  const current = store.describeTopic(r.resourceName).overrides;
  const set: Record<string, string> = {};
  for (const c of r.configs) if (c.value !== null) set[c.name] = c.value;
  // Throws INVALID_CONFIG naming the bad keys or values.
  parseTopicConfigs(set);
  const remove = Object.keys(current).filter((k) => !Object.hasOwn(set, k));
  if (!validateOnly) await store.alterTopicConfigs(r.resourceName, set, remove);
}

export function createAlterConfigsHandler(deps: { store: TopicAdmin }) {
  const { store } = deps;
  return defineHandler({
    apiKey: ApiKey.AlterConfigs,
    name: 'AlterConfigs',
    minVersion: 0,
    maxVersion: 2,
    firstFlexibleVersion: ALTER_CONFIGS_FIRST_FLEXIBLE,
    decode: decodeAlterConfigsRequest,
    encode: encodeAlterConfigsResponse,
    handle: async (req) => ({
      throttleTimeMs: 0,
      responses: await Promise.all(req.resources.map(async (r): Promise<AlterConfigsResult> => {
        const base = { errorCode: 0, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName };
        if (r.resourceType !== RESOURCE_TYPE_TOPIC) {
          return { ...base, errorCode: errorCode('INVALID_REQUEST'), errorMessage: 'only topic configs can be altered: Weir\'s broker settings live in its config file' };
        }
        try {
          await alterTopic(store, r, req.validateOnly);
          return base;
        } catch (err) {
          return { ...base, errorCode: kafkaErrorCode(err), errorMessage: kafkaErrorMessage(err) };
        }
      })),
    }),
  });
}
