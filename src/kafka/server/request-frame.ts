/**
 * One request frame in, one response frame out: which handler a frame is for, whether this
 * connection may send it, its decoded body; and the size-prefixed chunks of the response. The
 * connection (connection.ts) decides when and in what order; this file only says what.
 *
 * A frame that is refused closes its connection only (see connection.ts): an API key nobody
 * serves, a request before SASL authentication (KIP-43/KIP-152), a version outside the handler's
 * range (no body layout exists for it, so Kafka closes too), or a header or body that does not
 * parse. ApiVersions is the exception to the version rule (KIP-511).
 */
import { ApiKey } from '../protocol/api-keys.js';
import { encodeApiVersionsResponse } from '../protocol/apis/api-versions.js';
import { errorCode } from '../protocol/error-codes.js';
import { readRequestHeaderPrefix, responseHeaderIsFlexible, writeResponseHeader, type RequestHeader } from '../protocol/header.js';
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import { isFlexible, type KafkaHandler } from './handler.js';
import type { HandlerRegistry } from './registry.js';
import type { ConnectionAuth } from './sasl/connection-auth.js';
import { PRE_AUTH_API_KEYS } from './sasl/index.js';
import type { CloseReason } from './stats.js';

export interface RefusedFrame {
  kind: 'refused';
  err?: unknown;
  why: string;
  details: Record<string, unknown>;
  reason: CloseReason;
}

export type ParsedFrame =
  | { kind: 'request'; header: RequestHeader; handler: KafkaHandler; request: unknown; flexible: boolean }
  /** KIP-511: a too-new ApiVersions is answered (v0 body, UNSUPPORTED_VERSION), not refused. */
  | { kind: 'unsupported-api-versions'; header: RequestHeader }
  | RefusedFrame;

export function parseRequestFrame(frame: Buffer, registry: HandlerRegistry, auth: ConnectionAuth): ParsedFrame {
  const reader = new Reader(frame);
  try {
    const header = readRequestHeaderPrefix(reader);
    const handler = registry.get(header.apiKey);
    if (handler === undefined) return refused('unknown API key', { apiKey: header.apiKey });
    if (!auth.authenticated && !PRE_AUTH_API_KEYS.has(header.apiKey)) {
      return { kind: 'refused', why: 'request before SASL authentication', details: { api: handler.name }, reason: 'unauthenticated_request' };
    }
    if (header.apiVersion < handler.minVersion || header.apiVersion > handler.maxVersion) {
      if (header.apiKey === ApiKey.ApiVersions) return { kind: 'unsupported-api-versions', header };
      return refused('unsupported API version', { api: handler.name, version: header.apiVersion });
    }
    const flexible = isFlexible(handler, header.apiVersion);
    if (flexible) reader.taggedFields();
    return { kind: 'request', header, handler, request: handler.decode(reader, header.apiVersion), flexible };
  } catch (err) {
    return refused('request does not parse', {}, err);
  }
}

function refused(why: string, details: Record<string, unknown>, err?: unknown): RefusedFrame {
  return { kind: 'refused', err, why, details, reason: 'bad_input' };
}

/** The response frame of `response` to the request `header` introduced. */
export function responseFrame(header: RequestHeader, flexible: boolean, handler: KafkaHandler, response: unknown): Buffer[] {
  const w = new Writer();
  w.int32(0); // size, patched by frameChunks
  writeResponseHeader(w, header.correlationId, responseHeaderIsFlexible(header.apiKey, flexible));
  handler.encode(w, header.apiVersion, response);
  return frameChunks(w);
}

/** KIP-511: a too-new ApiVersions gets a v0 body with UNSUPPORTED_VERSION and our ranges. */
export function unsupportedApiVersionsFrame(header: RequestHeader, registry: HandlerRegistry): Buffer[] {
  const w = new Writer();
  w.int32(0);
  writeResponseHeader(w, header.correlationId, false);
  encodeApiVersionsResponse(w, 0, { errorCode: errorCode('UNSUPPORTED_VERSION'), apiKeys: registry.ranges(), throttleTimeMs: 0 });
  return frameChunks(w);
}

/** A bare SASL token after a v0 SaslHandshake goes back bare and size-framed (KIP-43). */
export function rawTokenFrame(token: Buffer): Buffer[] {
  const size = Buffer.alloc(4);
  size.writeInt32BE(token.length, 0);
  return [size, token];
}

/** The writer's chunks with the int32 size prefix (the writer's first 4 bytes) filled in. */
function frameChunks(w: Writer): Buffer[] {
  const size = w.length - 4;
  const chunks = w.toChunks();
  chunks[0]!.writeInt32BE(size, 0);
  return chunks;
}
