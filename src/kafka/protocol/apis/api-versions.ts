/**
 * ApiVersions (key 18), versions 0–4. Flexible from v3; the response header is always v0.
 *
 *   ApiVersions Request (Version: 0–2) =>
 *   ApiVersions Request (Version: 3–4) => client_software_name client_software_version TAG_BUFFER
 *     client_software_name => COMPACT_STRING
 *     client_software_version => COMPACT_STRING
 *
 *   ApiVersions Response (Version: 0) => error_code [api_keys]
 *     api_keys => api_key min_version max_version
 *   ApiVersions Response (Version: 1–2) => error_code [api_keys] throttle_time_ms
 *   ApiVersions Response (Version: 3–4) => error_code [api_keys] throttle_time_ms TAG_BUFFER
 *     (compact array; each api_keys entry ends with TAG_BUFFER; tags 0–3 of the body —
 *     supported/finalized features, zk_migration_ready — are optional and not sent)
 *
 * KIP-511: a request newer than the broker supports is answered with a v0 body carrying
 * UNSUPPORTED_VERSION and the supported ranges, so the client can retry with a version it has.
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const API_VERSIONS_FIRST_FLEXIBLE = 3;

export interface ApiVersionsRequest {
  clientSoftwareName: string | null;
  clientSoftwareVersion: string | null;
}

export interface ApiVersionRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

export interface ApiVersionsResponse {
  errorCode: number;
  apiKeys: ApiVersionRange[];
  throttleTimeMs: number;
}

export function decodeApiVersionsRequest(r: Reader, version: number): ApiVersionsRequest {
  if (version < API_VERSIONS_FIRST_FLEXIBLE) return { clientSoftwareName: null, clientSoftwareVersion: null };
  const clientSoftwareName = r.string(true);
  const clientSoftwareVersion = r.string(true);
  r.taggedFields();
  return { clientSoftwareName, clientSoftwareVersion };
}

export function encodeApiVersionsResponse(w: Writer, version: number, res: ApiVersionsResponse): void {
  const flexible = version >= API_VERSIONS_FIRST_FLEXIBLE;
  w.int16(res.errorCode);
  w.array(res.apiKeys, flexible, (w, k) => {
    w.int16(k.apiKey).int16(k.minVersion).int16(k.maxVersion).maybeTaggedFields(flexible);
  });
  if (version >= 1) w.int32(res.throttleTimeMs);
  w.maybeTaggedFields(flexible);
}
