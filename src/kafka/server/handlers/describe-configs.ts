/**
 * DescribeConfigs v1–4 for topics: effective values (overrides over the broker's topic
 * defaults), with DYNAMIC_TOPIC_CONFIG for overrides and DEFAULT_CONFIG otherwise. Broker
 * resources are answered with an empty list: Weir's broker settings live in its own config file.
 */
import type { TopicAdmin } from '../../../store/types.js';
import { TOPIC_CONFIG_SPECS, type KafkaConfigType, type TopicConfigName } from '../../../store/topic-config.js';
import { ApiKey } from '../../protocol/api-keys.js';
import {
  CONFIG_SOURCE_DEFAULT, CONFIG_SOURCE_DYNAMIC_TOPIC, decodeDescribeConfigsRequest, DESCRIBE_CONFIGS_FIRST_FLEXIBLE,
  encodeDescribeConfigsResponse, RESOURCE_TYPE_BROKER, RESOURCE_TYPE_TOPIC, type DescribedConfig,
} from '../../protocol/apis/describe-configs.js';
import { errorCode } from '../../protocol/error-codes.js';
import { kafkaErrorCode, kafkaErrorMessage } from '../errors.js';
import { defineHandler } from '../handler.js';

/** Kafka's DescribeConfigsResponse config_type values (v3+). */
const CONFIG_TYPES: Readonly<Record<KafkaConfigType, number>> = { STRING: 2, INT: 3, LONG: 5, DOUBLE: 6, LIST: 7 };

/**
 * Weir holds Kafka's Long.MAX_VALUE ("no limit") as Number.MAX_SAFE_INTEGER; clients are told
 * Kafka's own value, the one their defaults and checks compare with.
 */
function wireValue(value: unknown, type: KafkaConfigType): string {
  return type === 'LONG' && value === Number.MAX_SAFE_INTEGER ? '9223372036854775807' : String(value);
}

function topicConfigs(store: TopicAdmin, name: string, keys: string[] | null, withDocs: boolean): DescribedConfig[] {
  const d = store.describeTopic(name);
  return Object.entries(d.config)
    .filter(([key]) => keys === null || keys.includes(key))
    .map(([key, value]) => {
      const spec = TOPIC_CONFIG_SPECS[key as TopicConfigName];
      return {
        name: key,
        value: wireValue(value, spec.kafkaType),
        readOnly: false,
        configSource: Object.hasOwn(d.overrides, key) ? CONFIG_SOURCE_DYNAMIC_TOPIC : CONFIG_SOURCE_DEFAULT,
        isSensitive: false,
        configType: CONFIG_TYPES[spec.kafkaType],
        documentation: withDocs ? spec.doc : null,
      };
    });
}

export function createDescribeConfigsHandler(deps: { store: TopicAdmin }) {
  const { store } = deps;
  return defineHandler({
    apiKey: ApiKey.DescribeConfigs,
    name: 'DescribeConfigs',
    minVersion: 1,
    maxVersion: 4,
    firstFlexibleVersion: DESCRIBE_CONFIGS_FIRST_FLEXIBLE,
    decode: decodeDescribeConfigsRequest,
    encode: encodeDescribeConfigsResponse,
    handle: (req) => ({
      throttleTimeMs: 0,
      results: req.resources.map((r) => {
        const base = { errorCode: 0, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] as DescribedConfig[] };
        if (r.resourceType === RESOURCE_TYPE_BROKER) return base;
        if (r.resourceType !== RESOURCE_TYPE_TOPIC) {
          return { ...base, errorCode: errorCode('INVALID_REQUEST'), errorMessage: `resource type ${r.resourceType} is not supported` };
        }
        try {
          return { ...base, configs: topicConfigs(store, r.resourceName, r.configurationKeys, req.includeDocumentation) };
        } catch (err) {
          return { ...base, errorCode: kafkaErrorCode(err), errorMessage: kafkaErrorMessage(err) };
        }
      }),
    }),
  });
}
