/**
 * AlterConfigs (key 33), versions 0–2. Flexible from v2.
 *
 *   AlterConfigs Request => [resources] validate_only:BOOLEAN
 *     resources => resource_type:INT8 resource_name:STRING [configs]
 *       configs => name:STRING value:NULLABLE_STRING
 *
 *   AlterConfigs Response => throttle_time_ms:INT32 [responses]
 *     responses => error_code:INT16 error_message:NULLABLE_STRING resource_type:INT8 resource_name:STRING
 *
 * Unlike IncrementalAlterConfigs (KIP-339), the configs given replace the resource's whole set
 * of overrides: a config left out goes back to its default.
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const ALTER_CONFIGS_FIRST_FLEXIBLE = 2;

export interface AlterConfigsResource {
  resourceType: number;
  resourceName: string;
  configs: { name: string; value: string | null }[];
}

export interface AlterConfigsRequest {
  resources: AlterConfigsResource[];
  validateOnly: boolean;
}

export interface AlterConfigsResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

export interface AlterConfigsResponse {
  throttleTimeMs: number;
  responses: AlterConfigsResult[];
}

export function decodeAlterConfigsRequest(r: Reader, version: number): AlterConfigsRequest {
  const flexible = version >= ALTER_CONFIGS_FIRST_FLEXIBLE;
  const resources = r.array(flexible, (r) => {
    const resourceType = r.int8();
    const resourceName = r.string(flexible);
    const configs = r.array(flexible, (r) => {
      const name = r.string(flexible);
      const value = r.nullableString(flexible);
      r.maybeTaggedFields(flexible);
      return { name, value };
    });
    r.maybeTaggedFields(flexible);
    return { resourceType, resourceName, configs };
  });
  const validateOnly = r.bool();
  r.maybeTaggedFields(flexible);
  return { resources, validateOnly };
}

export function encodeAlterConfigsResponse(w: Writer, version: number, res: AlterConfigsResponse): void {
  const flexible = version >= ALTER_CONFIGS_FIRST_FLEXIBLE;
  w.int32(res.throttleTimeMs);
  w.array(res.responses, flexible, (w, r) => {
    w.int16(r.errorCode).nullableString(r.errorMessage, flexible).int8(r.resourceType).string(r.resourceName, flexible);
    w.maybeTaggedFields(flexible);
  });
  w.maybeTaggedFields(flexible);
}
