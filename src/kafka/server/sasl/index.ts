/**
 * SASL on the Kafka listener (KIP-43, KIP-152): SaslHandshake picks a mechanism, then the
 * mechanism's tokens travel in SaslAuthenticate requests (after a v1 handshake) or bare,
 * size-framed (after a v0 handshake). Until the exchange succeeds a connection may send only
 * ApiVersions, SaslHandshake and SaslAuthenticate; anything else, an unsupported mechanism or a
 * failed exchange closes it (after the error response, so the client can say why).
 */
import type { Logger } from '../../../logger.js';
import { isWeirError } from '../../../errors.js';
import { ApiKey } from '../../protocol/api-keys.js';
import {
  SASL_AUTHENTICATE_FIRST_FLEXIBLE, decodeSaslAuthenticateRequest, decodeSaslHandshakeRequest, encodeSaslAuthenticateResponse, encodeSaslHandshakeResponse,
  type SaslAuthenticateResponse,
} from '../../protocol/apis/sasl.js';
import { errorCode } from '../../protocol/error-codes.js';
import { defineHandler, type KafkaHandler } from '../handler.js';
import type { ConnectionAuth } from './connection-auth.js';
import { CredentialsFile } from './credentials.js';
import { createExchange, type SaslMechanism } from './mechanisms.js';

/** Requests allowed before authentication completes (Kafka's SaslServerAuthenticator). */
export const PRE_AUTH_API_KEYS: ReadonlySet<number> = new Set([ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate]);

export interface SaslOptions {
  mechanisms: readonly SaslMechanism[];
  credentialsFile: string;
}

export interface SaslCounters {
  succeeded: number;
  failed: number;
}

export class SaslServer {
  readonly mechanisms: readonly SaslMechanism[];
  readonly counters: SaslCounters = { succeeded: 0, failed: 0 };
  private readonly users: CredentialsFile;

  constructor(opts: SaslOptions, private readonly log: Logger) {
    this.mechanisms = opts.mechanisms;
    this.users = new CredentialsFile(opts.credentialsFile);
  }

  /** Users in the credentials file now (for the start log line). */
  get userCount(): number {
    return this.users.size;
  }

  /** A new connection's state: nothing but the handshake is allowed yet. */
  newConnection(): ConnectionAuth {
    return { authenticated: false, principal: null, exchange: null, rawTokens: false, closeAfterResponse: false };
  }

  handshake(auth: ConnectionAuth, mechanism: string, version: number): { errorCode: number; mechanisms: string[] } {
    const mechanisms = [...this.mechanisms];
    if (auth.authenticated || auth.exchange !== null) {
      auth.closeAfterResponse = true;
      return { errorCode: errorCode('ILLEGAL_SASL_STATE'), mechanisms };
    }
    const m = this.mechanisms.find((x) => x === mechanism.toUpperCase());
    if (m === undefined) {
      auth.closeAfterResponse = true;
      this.counters.failed++;
      this.log.warn({ mechanism, enabled: mechanisms }, 'kafka SASL: mechanism not enabled (kafka.sasl_mechanisms)');
      return { errorCode: errorCode('UNSUPPORTED_SASL_MECHANISM'), mechanisms };
    }
    auth.exchange = createExchange(m, this.users);
    auth.rawTokens = version === 0;
    return { errorCode: 0, mechanisms };
  }

  /** Feeds one client token. Resolves with the server token; on failure marks the connection for closing. */
  async step(auth: ConnectionAuth, token: Buffer): Promise<{ ok: true; response: Buffer } | { ok: false; code: number; message: string }> {
    if (auth.authenticated || auth.exchange === null) {
      auth.closeAfterResponse = true;
      return { ok: false, code: errorCode('ILLEGAL_SASL_STATE'), message: 'SaslAuthenticate without a SaslHandshake before it' };
    }
    try {
      const step = await auth.exchange.step(token);
      if (step.principal !== undefined) {
        auth.authenticated = true;
        auth.principal = step.principal;
        auth.exchange = null;
        auth.rawTokens = false;
        this.counters.succeeded++;
        this.log.debug({ principal: step.principal }, 'kafka SASL: authenticated');
      }
      return { ok: true, response: step.response };
    } catch (err) {
      auth.closeAfterResponse = true;
      this.counters.failed++;
      const message = err instanceof Error ? err.message : String(err);
      this.log.warn({ why: isWeirError(err) ? err.details?.why : message }, 'kafka SASL: authentication failed; closing the connection');
      return { ok: false, code: errorCode('SASL_AUTHENTICATION_FAILED'), message };
    }
  }

  handlers(): KafkaHandler[] {
    return [
      defineHandler({
        apiKey: ApiKey.SaslHandshake,
        name: 'SaslHandshake',
        minVersion: 0,
        maxVersion: 1,
        firstFlexibleVersion: null,
        decode: decodeSaslHandshakeRequest,
        encode: encodeSaslHandshakeResponse,
        handle: (req, ctx) => this.handshake(ctx.connection.auth, req.mechanism, ctx.apiVersion),
      }),
      defineHandler({
        apiKey: ApiKey.SaslAuthenticate,
        name: 'SaslAuthenticate',
        minVersion: 0,
        maxVersion: 2,
        firstFlexibleVersion: SASL_AUTHENTICATE_FIRST_FLEXIBLE,
        decode: decodeSaslAuthenticateRequest,
        encode: encodeSaslAuthenticateResponse,
        handle: async (req, ctx): Promise<SaslAuthenticateResponse> => {
          const auth = ctx.connection.auth;
          if (auth.rawTokens) {
            auth.closeAfterResponse = true;
            return { errorCode: errorCode('ILLEGAL_SASL_STATE'), errorMessage: 'a v0 SaslHandshake means bare tokens, not SaslAuthenticate', authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 };
          }
          const r = await this.step(auth, req.authBytes);
          return r.ok
            ? { errorCode: 0, errorMessage: null, authBytes: r.response, sessionLifetimeMs: 0 }
            : { errorCode: r.code, errorMessage: r.message, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 };
        },
      }),
    ];
  }
}
