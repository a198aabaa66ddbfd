/**
 * DescribeConfigs v1–4 for topics: effective values (overrides over the broker's topic
 * defaults), with DYNAMIC_TOPIC_CONFIG for overrides and DEFAULT_CONFIG otherwise. Broker
 * resources are answered with an empty list: Weir's broker settings live in its own config file.
 */
import type { TopicAdmin } from '../../../store/types.js';
import { TOPIC_CONFIG_SPECS, type TopicConfigName } from '../../../store/topic-config.js';
import { ApiKey } from '../../protocol/api-keys.js';
import {
  CONFIG_SOURCE_DEFAULT, CONFIG_SOURCE_DYNAMIC_TOPIC, decodeDescribeConfigsRequest, DESCRIBE_CONFIGS_FIRST_FLEXIBLE,
  encodeDescribeConfigsResponse, RESOURCE_TYPE_BROKER, RESOURCE_TYPE_TOPIC, type DescribedConfig,
} from '../../protocol/apis/describe-configs.js';
import { errorCode } from '../../protocol/error-codes.js';
import { kafkaErrorCode, kafkaErrorMessage } from '../errors.js';
import { defineHandler } from '../handler.js';

const CONFIG_TYPE_BOOLEAN = 1;
const CONFIG_TYPE_STRING = 2;
const CONFIG_TYPE_LONG = 5;

function topicConfigs(store: TopicAdmin, name: string, keys: string[] | null, withDocs: boolean): DescribedConfig[] {
  const d = store.describeTopic(name);
  return Object.entries(d.config)
    .filter(([key]) => keys === null || keys.includes(key))
    .map(([key, value]) => ({
      name: key,
      value: String(value),
      readOnly: false,
      configSource: Object.hasOwn(d.overrides, key) ? CONFIG_SOURCE_DYNAMIC_TOPIC : CONFIG_SOURCE_DEFAULT,
      isSensitive: false,
      configType: typeof value === 'number' ? CONFIG_TYPE_LONG : typeof value === 'boolean' ? CONFIG_TYPE_BOOLEAN : CONFIG_TYPE_STRING,
      documentation: withDocs ? TOPIC_CONFIG_SPECS[key as TopicConfigName].doc : null,
    }));
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
