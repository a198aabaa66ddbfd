/**
 * DescribeConfigs (key 32), versions 1–4. Flexible from v4.
 *
 *   DescribeConfigs Request =>
 *     [resources] => resource_type:INT8 resource_name:STRING [configuration_keys:STRING] (nullable = all)
 *     include_synonyms:BOOLEAN include_documentation:BOOLEAN (v3+)
 *
 *   DescribeConfigs Response =>
 *     throttle_time_ms:INT32
 *     [results] => error_code:INT16 error_message:NULLABLE_STRING resource_type:INT8 resource_name:STRING
 *       [configs] => name:STRING value:NULLABLE_STRING read_only:BOOLEAN config_source:INT8
 *                    is_sensitive:BOOLEAN [synonyms] => name:STRING value:NULLABLE_STRING source:INT8
 *                    config_type:INT8 (v3+) documentation:NULLABLE_STRING (v3+)
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const DESCRIBE_CONFIGS_FIRST_FLEXIBLE = 4;
export const RESOURCE_TYPE_TOPIC = 2;
export const RESOURCE_TYPE_BROKER = 4;
/** Kafka's ConfigSource values used by Weir. */
export const CONFIG_SOURCE_DYNAMIC_TOPIC = 1;
export const CONFIG_SOURCE_DEFAULT = 5;

export interface DescribeConfigsRequest {
  resources: { resourceType: number; resourceName: string; configurationKeys: string[] | null }[];
  includeSynonyms: boolean;
  includeDocumentation: boolean;
}

export interface DescribedConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  configSource: number;
  isSensitive: boolean;
  /** Kafka's ConfigType: 1 BOOLEAN, 2 STRING, 5 LONG, ... */
  configType: number;
  documentation: string | null;
}

export interface DescribeConfigsResponse {
  throttleTimeMs: number;
  results: { errorCode: number; errorMessage: string | null; resourceType: number; resourceName: string; configs: DescribedConfig[] }[];
}

export function decodeDescribeConfigsRequest(r: Reader, version: number): DescribeConfigsRequest {
  const flexible = version >= DESCRIBE_CONFIGS_FIRST_FLEXIBLE;
  const resources = r.array(flexible, (r) => {
    const resourceType = r.int8();
    const resourceName = r.string(flexible);
    const configurationKeys = r.nullableArray(flexible, (r) => r.string(flexible));
    r.maybeTaggedFields(flexible);
    return { resourceType, resourceName, configurationKeys };
  });
  const includeSynonyms = r.bool();
  const includeDocumentation = version >= 3 ? r.bool() : false;
  r.maybeTaggedFields(flexible);
  return { resources, includeSynonyms, includeDocumentation };
}

export function encodeDescribeConfigsResponse(w: Writer, version: number, res: DescribeConfigsResponse): void {
  const flexible = version >= DESCRIBE_CONFIGS_FIRST_FLEXIBLE;
  w.int32(res.throttleTimeMs);
  w.array(res.results, flexible, (w, r) => {
    w.int16(r.errorCode).nullableString(r.errorMessage, flexible).int8(r.resourceType).string(r.resourceName, flexible);
    w.array(r.configs, flexible, (w, c) => {
      w.string(c.name, flexible).nullableString(c.value, flexible).bool(c.readOnly).int8(c.configSource).bool(c.isSensitive);
      w.array([], flexible, () => undefined); // synonyms: none (one config level below the topic)
      if (version >= 3) w.int8(c.configType).nullableString(c.documentation, flexible);
      w.maybeTaggedFields(flexible);
    });
    w.maybeTaggedFields(flexible);
  });
  w.maybeTaggedFields(flexible);
}
