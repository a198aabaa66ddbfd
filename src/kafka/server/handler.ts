/**
 * The contract between the listener and the code that serves one Kafka API.
 *
 * A handler declares its API key, the version range it serves and the first flexible version
 * (KIP-482); the listener parses the request header with that knowledge, calls `decode`, then
 * `handle`, then `encode`, and ApiVersions is built from the declarations of every registered
 * handler (redpanda's `handlers.h` does the same), so a range is never typed twice.
 *
 * Handlers carry their own dependencies by closure (a factory such as
 * `createFetchHandler(deps)` returns the handler), so the per-request context stays small and
 * the same for every API. The group coordinator registers its handlers the same way:
 *
 *   export function createFindCoordinatorHandler(coordinator: Coordinator): KafkaHandler<Req, Res> {
 *     return defineHandler({ apiKey: ApiKey.FindCoordinator, name: 'FindCoordinator',
 *       minVersion: 0, maxVersion: 4, firstFlexibleVersion: 3,
 *       decode: decodeFindCoordinatorRequest, encode: encodeFindCoordinatorResponse,
 *       handle: (req, ctx) => coordinator.find(req, ctx.broker) });
 *   }
 *
 * and passes them to `startKafkaListener({ handlers: [...coreHandlers(deps), ...theirs] })`.
 * Registering two handlers for one API key is an INVALID_ARGUMENT error at start.
 */
import type { Logger } from '../../logger.js';
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { RequestHeader } from '../protocol/header.js';
import type { ConnectionAuth } from './sasl/connection-auth.js';

/** What a handler returns for a request that gets no response (Produce with acks=0). */
export const NO_RESPONSE: unique symbol = Symbol('weir.kafka.noResponse');
export type NoResponse = typeof NO_RESPONSE;

/** The broker as clients must see it: Metadata and FindCoordinator hand these out. */
export interface BrokerInfo {
  readonly nodeId: number;
  /** Advertised host: never 0.0.0.0 or ::. */
  readonly host: string;
  readonly port: number;
  readonly clusterId: string;
}

export interface ConnectionInfo {
  /** Unique per listener, for logs. */
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Aborted when the connection closes: long polls (Fetch, JoinGroup) stop waiting on it. */
  readonly signal: AbortSignal;
  /** SASL state: always authenticated on a listener without SASL (sasl/index.ts). */
  readonly auth: ConnectionAuth;
}

/**
 * The listener's caps on fetch responses: kafka.fetch_max_bytes per response, and
 * kafka.max_queued_response_bytes for all responses built and not yet taken by their sockets.
 */
export interface FetchBytes {
  /** Record bytes a Fetch may read now: fetch_max_bytes, less what the listener already holds (at least 1: KIP-74's one batch). */
  limit(): number;
  /** Counts `bytes` of the response against the listener's cap until the socket takes it. */
  hold(bytes: number): void;
}

export interface HandlerContext {
  readonly header: RequestHeader;
  /** Same as header.apiVersion, already checked against the handler's range. */
  readonly apiVersion: number;
  readonly connection: ConnectionInfo;
  readonly broker: BrokerInfo;
  /** What a Fetch may read now, and the record bytes its response holds until its socket takes them. */
  readonly fetchBytes: FetchBytes;
  /** Child logger with { component: 'kafka', api, connection }. */
  readonly log: Logger;
}

export interface KafkaHandler<Req = unknown, Res = unknown> {
  readonly apiKey: number;
  /** Kafka's name for the API (ApiKeys.java), used in logs. */
  readonly name: string;
  /** Lowest and highest version advertised in ApiVersions and accepted on the wire. */
  readonly minVersion: number;
  readonly maxVersion: number;
  /**
   * First version using flexible encoding (request header v2, response header v1, compact
   * types, tagged fields), or null when no served version is flexible.
   */
  readonly firstFlexibleVersion: number | null;
  /** Parse the request body; throw WeirError CORRUPT_MESSAGE / INVALID_ARGUMENT on bad bytes. */
  decode(reader: Reader, version: number): Req;
  /**
   * Serve the request. Errors that belong in the response (per topic, per partition) go into
   * the response; a thrown error closes the connection, so throw only when no answer is right.
   */
  handle(request: Req, ctx: HandlerContext): Res | NoResponse | Promise<Res | NoResponse>;
  /** Write the response body (after the response header, which the listener writes). */
  encode(writer: Writer, version: number, response: Res): void;
}

/** Identity function that lets TypeScript infer Req and Res from decode and encode. */
export function defineHandler<Req, Res>(handler: KafkaHandler<Req, Res>): KafkaHandler<Req, Res> {
  return handler;
}

/** Whether `version` of `handler` uses flexible encoding. */
export function isFlexible(handler: Pick<KafkaHandler, 'firstFlexibleVersion'>, version: number): boolean {
  return handler.firstFlexibleVersion !== null && version >= handler.firstFlexibleVersion;
}
