/**
 * One Kafka connection's authentication state, apart from the SASL server (index.ts) so the
 * handler contract (handler.ts) can name it without depending on the SASL handlers.
 */
import type { SaslExchange } from './mechanisms.js';

/** One connection's authentication state. */
export interface ConnectionAuth {
  authenticated: boolean;
  principal: string | null;
  exchange: SaslExchange | null;
  /** After a v0 SaslHandshake the next frames are bare SASL tokens (KIP-43's original flow). */
  rawTokens: boolean;
  /** The connection closes once the response being written is out. */
  closeAfterResponse: boolean;
}

export function openAuth(): ConnectionAuth {
  return { authenticated: true, principal: null, exchange: null, rawTokens: false, closeAfterResponse: false };
}
