/**
 * Everything a connection goes through before it carries requests: TCP, TLS, and the client
 * sides of the requests every connection starts with, in their classic (non-flexible) versions
 * only, so requests carry header v1 and responses header v0 (Kafka protocol guide, "Headers").
 * The server sides live in src/kafka/protocol/apis/{api-versions,sasl}.ts.
 *
 *   ApiVersions Request (Version: 0) =>                      (empty body)
 *   ApiVersions Response (Version: 0) => error_code [api_keys]
 *     api_keys => api_key:INT16 min_version:INT16 max_version:INT16
 *
 *   SaslHandshake Request (Version: 1) => mechanism:STRING
 *   SaslHandshake Response (Version: 1) => error_code:INT16 [mechanisms:STRING]
 *
 *   SaslAuthenticate Request (Version: 0) => auth_bytes:BYTES
 *   SaslAuthenticate Response (Version: 0) => error_code:INT16 error_message:NULLABLE_STRING
 *                                             auth_bytes:BYTES
 *
 * ApiVersions v0 is the one version every broker answers (KIP-35), and its response header is
 * v0 whatever the version (KIP-511). SaslHandshake v1 means the SASL tokens then travel in
 * SaslAuthenticate requests (KIP-152, Kafka 1.0), so the broker can say why a login failed
 * instead of just closing the connection as after a v0 handshake (KIP-43).
 *
 * Failures are HandshakeFailure; BrokerConnection.open turns them into ConnectError.
 */
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ApiKey } from '../../../src/kafka/protocol/api-keys.js';
import { errorName } from '../../../src/kafka/protocol/error-codes.js';
import type { Reader } from '../../../src/kafka/protocol/reader.js';
import type { Writer } from '../../../src/kafka/protocol/writer.js';
import { SaslClientError, saslClient, type SaslCredentials } from './sasl-client.js';

export const API_VERSIONS_VERSION = 0;

/** PEM contents; `ca` absent = the system CAs. */
export interface WireTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/**
 * Keep-alive probes start after this much silence: an idle mirror connection behind a NAT or
 * firewall that forgets quiet flows would otherwise look open until the next request times out.
 */
const KEEPALIVE_DELAY_MS = 60_000;

/** A TCP connection; `onSocket` gets the socket at once, so a timeout can tear it down. */
export function connectTcp(host: string, port: number, onSocket: (s: Socket) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // noDelay: requests are whole frames written at once; Nagle would only hold back the last segment.
    const socket = tcpConnect({ host, port, noDelay: true, keepAlive: true, keepAliveInitialDelay: KEEPALIVE_DELAY_MS });
    onSocket(socket);
    const onError = (err: Error): void => reject(new HandshakeFailure(err.message, 'network', { cause: err }));
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** TLS over `tcp`, the broker's certificate checked against `host`. */
export function startTls(tcp: Socket, host: string, tls: WireTls, onSocket: (s: Socket) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // `host` is what the certificate is checked against; SNI carries names only (RFC 6066 section 3).
    const socket = tlsConnect({ socket: tcp, host, servername: isIP(host) === 0 ? host : undefined, ca: tls.ca, cert: tls.cert, key: tls.key });
    onSocket(socket);
    const onError = (err: Error): void => reject(new HandshakeFailure(`TLS: ${openSslReason(err) ?? err.message}`, 'tls', { cause: err }));
    const onClose = (): void => reject(new HandshakeFailure('TLS: the broker closed the connection during the handshake', 'tls'));
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.once('secureConnect', () => {
      socket.off('error', onError);
      socket.off('close', onClose);
      resolve(socket);
    });
  });
}

/**
 * OpenSSL's own words for a TLS error ("tlsv13 alert certificate required"), whose message is a
 * line of OpenSSL internals. Under TLS 1.3 the broker refuses a client certificate only after the
 * handshake completed on the client's side, so this also turns up while negotiating versions.
 */
export function openSslReason(err: unknown): string | undefined {
  const e = err as { code?: unknown; reason?: unknown } | undefined;
  return typeof e?.code === 'string' && e.code.startsWith('ERR_SSL_') && typeof e.reason === 'string' ? e.reason : undefined;
}
export const SASL_HANDSHAKE_VERSION = 1;
export const SASL_AUTHENTICATE_VERSION = 0;

export interface BrokerApiRange {
  minVersion: number;
  maxVersion: number;
}

export interface ApiVersionsResult {
  errorCode: number;
  /** api key -> the versions the broker supports. */
  apis: Map<number, BrokerApiRange>;
}

export function writeApiVersionsRequest(_w: Writer): void {
  // v0 has no fields.
}

export function readApiVersionsResponse(r: Reader): ApiVersionsResult {
  const errorCode = r.int16();
  const apis = new Map<number, BrokerApiRange>();
  r.array(false, (r) => {
    const apiKey = r.int16();
    const minVersion = r.int16();
    const maxVersion = r.int16();
    apis.set(apiKey, { minVersion, maxVersion });
  });
  return { errorCode, apis };
}

/** The highest version in [min, max] that `range` (the broker's) also has, or undefined. */
export function commonVersion(range: BrokerApiRange | undefined, min: number, max: number): number | undefined {
  if (range === undefined) return undefined;
  const high = Math.min(max, range.maxVersion);
  return high >= Math.max(min, range.minVersion) ? high : undefined;
}

export interface SaslHandshakeResult {
  errorCode: number;
  /** What the broker has enabled (sent with UNSUPPORTED_SASL_MECHANISM, so the error can list them). */
  mechanisms: string[];
}

export function writeSaslHandshakeRequest(w: Writer, mechanism: string): void {
  w.string(mechanism);
}

export function readSaslHandshakeResponse(r: Reader): SaslHandshakeResult {
  const errorCode = r.int16();
  const mechanisms = r.array(false, (r) => r.string());
  return { errorCode, mechanisms };
}

export interface SaslAuthenticateResult {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Buffer;
}

export function writeSaslAuthenticateRequest(w: Writer, authBytes: Buffer): void {
  w.bytes(authBytes);
}

export function readSaslAuthenticateResponse(r: Reader): SaslAuthenticateResult {
  const errorCode = r.int16();
  const errorMessage = r.nullableString();
  // Copied: the reader's bytes are a view into the frame, and the token outlives it.
  const authBytes = Buffer.from(r.bytes());
  return { errorCode, errorMessage, authBytes };
}

/** "SASL_AUTHENTICATION_FAILED (58)", or "error 9999" for a code this table lacks. */
export function describeErrorCode(code: number): string {
  const name = errorName(code);
  return name === undefined ? `error ${code}` : `${name} (${code})`;
}

/** What failed in a connect: a caller may back off differently for credentials or certificates than for a network blip. */
export type ConnectFailure = 'network' | 'tls' | 'sasl' | 'timeout' | 'protocol';

/** What the handshake needs of a connection (BrokerConnection has it). */
export interface RequestChannel {
  request<T>(apiKey: number, version: number, write: (w: Writer) => void, read: (r: Reader) => T): Promise<T>;
  version(apiKey: number, min: number, max: number): number | undefined;
}

/** The broker refused or broke the handshake; BrokerConnection.open reports it as a ConnectError. */
export class HandshakeFailure extends Error {
  override name = 'HandshakeFailure';
  constructor(
    message: string,
    readonly failure: ConnectFailure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The API keys whose versions decide whether SASL can run (KIP-152 needs both). */
const SASL_APIS = [
  { apiKey: ApiKey.SaslHandshake, version: SASL_HANDSHAKE_VERSION, name: 'SaslHandshake' },
  { apiKey: ApiKey.SaslAuthenticate, version: SASL_AUTHENTICATE_VERSION, name: 'SaslAuthenticate' },
] as const;

/**
 * SaslHandshake v1, then the mechanism's tokens in SaslAuthenticate v0 requests until the client
 * mechanism is satisfied (KIP-152). The broker's error message (why it refused) becomes the
 * failure's message: it is what tells an operator a password is wrong.
 */
export async function authenticate(conn: RequestChannel, sasl: SaslCredentials): Promise<void> {
  const mechanism = sasl.mechanism;
  for (const api of SASL_APIS) {
    if (conn.version(api.apiKey, api.version, api.version) === undefined) {
      throw new HandshakeFailure(`SASL: the broker does not offer ${api.name} v${api.version} (Kafka 1.0 or later does), or SASL is not enabled on this listener`, 'sasl');
    }
  }
  const handshake = await conn.request(ApiKey.SaslHandshake, SASL_HANDSHAKE_VERSION, (w) => writeSaslHandshakeRequest(w, mechanism), readSaslHandshakeResponse);
  if (handshake.errorCode !== 0) {
    const offered = handshake.mechanisms.length > 0 ? handshake.mechanisms.join(', ') : 'none';
    throw new HandshakeFailure(`SASL mechanism ${mechanism} refused by the broker (${describeErrorCode(handshake.errorCode)}; it offers ${offered})`, 'sasl');
  }
  const client = saslClient(sasl);
  let token: Buffer | undefined = client.first();
  while (token !== undefined) {
    const sent: Buffer = token;
    const res = await conn.request(ApiKey.SaslAuthenticate, SASL_AUTHENTICATE_VERSION, (w) => writeSaslAuthenticateRequest(w, sent), readSaslAuthenticateResponse);
    if (res.errorCode !== 0) {
      const message = res.errorMessage ?? describeErrorCode(res.errorCode);
      throw new HandshakeFailure(`SASL authentication failed: ${message}${message.includes(mechanism) ? '' : ` (${mechanism})`}`, 'sasl');
    }
    try {
      token = await client.next(res.authBytes);
    } catch (err) {
      if (err instanceof SaslClientError) throw new HandshakeFailure(`SASL authentication failed: ${err.message}`, 'sasl', { cause: err });
      throw err;
    }
  }
}
