/** ApiVersions: the ranges of every registered handler (the listener registers this one itself). */
import { ApiKey } from '../../protocol/api-keys.js';
import {
  API_VERSIONS_FIRST_FLEXIBLE, decodeApiVersionsRequest, encodeApiVersionsResponse, type ApiVersionRange,
} from '../../protocol/apis/api-versions.js';
import { defineHandler } from '../handler.js';

export function createApiVersionsHandler(ranges: () => ApiVersionRange[]) {
  return defineHandler({
    apiKey: ApiKey.ApiVersions,
    name: 'ApiVersions',
    minVersion: 0,
    maxVersion: 4,
    firstFlexibleVersion: API_VERSIONS_FIRST_FLEXIBLE,
    decode: decodeApiVersionsRequest,
    encode: encodeApiVersionsResponse,
    handle: () => ({ errorCode: 0, apiKeys: ranges(), throttleTimeMs: 0 }),
  });
}
