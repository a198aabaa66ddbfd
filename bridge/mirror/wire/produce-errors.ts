/**
 * What the producer does with a Produce error code: send the same batch again, start a new
 * producer session, or report the batch refused. Codes from Kafka's Errors.java; "retriable" is
 * Kafka's RetriableException family.
 */
import { errorName } from '../../../src/kafka/protocol/error-codes.js';

/** Errors after which the same batch is sent again (Kafka's RetriableException family). */
export const RETRIABLE = new Set([2, 3, 5, 6, 7, 8, 13, 14, 15, 16, 19, 20, 56, 74, 75, 89]);
export const LEADER_MOVED = new Set([3, 5, 6, 74, 75]);
/** Errors meaning the broker no longer knows this producer session (KIP-360). */
export const SESSION_LOST = new Set([47 /* INVALID_PRODUCER_EPOCH */, 49 /* INVALID_PRODUCER_ID_MAPPING */, 59 /* UNKNOWN_PRODUCER_ID */, 90 /* PRODUCER_FENCED */]);
export const OUT_OF_ORDER_SEQUENCE = 45;
export const DUPLICATE_SEQUENCE = 46;

/** "MESSAGE_TOO_LARGE (10): <the broker's message>", as an operator looks it up. */
export function describeError(code: number, brokerMessage: string | null): string {
  const name = `${errorName(code) ?? 'error'} (${code})`;
  return brokerMessage === null || brokerMessage === '' ? name : `${name}: ${brokerMessage}`;
}
