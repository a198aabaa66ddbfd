/**
 * SaslHandshake (key 17), versions 0–1, and SaslAuthenticate (key 36), versions 0–2 (KIP-43,
 * KIP-152). SaslHandshake is never flexible; SaslAuthenticate is flexible from v2.
 *
 *   SaslHandshake Request => mechanism:STRING
 *   SaslHandshake Response => error_code:INT16 [mechanisms:STRING]
 *
 *   SaslAuthenticate Request => auth_bytes:BYTES
 *   SaslAuthenticate Response => error_code:INT16 error_message:NULLABLE_STRING auth_bytes:BYTES
 *                                session_lifetime_ms:INT64 (v1+)
 *
 * After a v0 handshake the client sends bare SASL tokens framed only by an int32 size (no
 * request header), and the broker answers the same way (KIP-43's original flow); after a v1
 * handshake the tokens travel inside SaslAuthenticate requests (KIP-152).
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const SASL_AUTHENTICATE_FIRST_FLEXIBLE = 2;

export interface SaslHandshakeRequest {
  mechanism: string;
}

export interface SaslHandshakeResponse {
  errorCode: number;
  mechanisms: string[];
}

export function decodeSaslHandshakeRequest(r: Reader): SaslHandshakeRequest {
  return { mechanism: r.string() };
}

export function encodeSaslHandshakeResponse(w: Writer, _version: number, res: SaslHandshakeResponse): void {
  w.int16(res.errorCode);
  w.array(res.mechanisms, false, (w, m) => {
    w.string(m);
  });
}

export interface SaslAuthenticateRequest {
  authBytes: Buffer;
}

export interface SaslAuthenticateResponse {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Buffer;
  /** 0: no re-authentication required (KIP-368). */
  sessionLifetimeMs: number;
}

export function decodeSaslAuthenticateRequest(r: Reader, version: number): SaslAuthenticateRequest {
  const flexible = version >= SASL_AUTHENTICATE_FIRST_FLEXIBLE;
  const authBytes = r.bytes(flexible);
  r.maybeTaggedFields(flexible);
  return { authBytes };
}

export function encodeSaslAuthenticateResponse(w: Writer, version: number, res: SaslAuthenticateResponse): void {
  const flexible = version >= SASL_AUTHENTICATE_FIRST_FLEXIBLE;
  w.int16(res.errorCode).nullableString(res.errorMessage, flexible).bytes(res.authBytes, flexible);
  if (version >= 1) w.int64(res.sessionLifetimeMs);
  w.maybeTaggedFields(flexible);
}
