/**
 * Request and response headers (Kafka protocol guide, "Headers"; KIP-482).
 *
 *   Request Header v1 => request_api_key request_api_version correlation_id client_id
 *     request_api_key => INT16
 *     request_api_version => INT16
 *     correlation_id => INT32
 *     client_id => NULLABLE_STRING
 *   Request Header v2 => request_api_key request_api_version correlation_id client_id TAG_BUFFER
 *     client_id => NULLABLE_STRING        (still int16-prefixed: never a compact string)
 *
 *   Response Header v0 => correlation_id
 *   Response Header v1 => correlation_id TAG_BUFFER
 *
 * A flexible request uses header v2 and its response header v1, except ApiVersions, whose
 * response header is always v0 so a client can read it before it knows the broker's versions.
 */
import { ApiKey } from './api-keys.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** Reads the part of the header common to v1 and v2 (everything up to the tagged fields). */
export function readRequestHeaderPrefix(r: Reader): RequestHeader {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const clientId = r.nullableString(false);
  return { apiKey, apiVersion, correlationId, clientId };
}

/** Reads a whole request header; `flexible` = the API version uses header v2. */
export function readRequestHeader(r: Reader, flexible: boolean): RequestHeader {
  const header = readRequestHeaderPrefix(r);
  if (flexible) r.taggedFields();
  return header;
}

export function writeRequestHeader(w: Writer, header: RequestHeader, flexible: boolean): void {
  w.int16(header.apiKey).int16(header.apiVersion).int32(header.correlationId).nullableString(header.clientId, false);
  if (flexible) w.taggedFields();
}

/** Whether a response to (apiKey, flexible request) carries header v1. */
export function responseHeaderIsFlexible(apiKey: number, flexibleRequest: boolean): boolean {
  return flexibleRequest && apiKey !== ApiKey.ApiVersions;
}

export function writeResponseHeader(w: Writer, correlationId: number, flexible: boolean): void {
  w.int32(correlationId);
  if (flexible) w.taggedFields();
}
