/**
 * What the producer does with a Produce error code: send the same batch again, start a new
 * producer session, or report the batch refused. Codes from Kafka's Errors.java; "retriable" is
 * Kafka's RetriableException family.
 */
import { errorName } from '../../../src/kafka/protocol/error-codes.js';

export interface DeliveryError {
  /** The broker's error code, or -1 for a failure of the producer's own. */
  readonly code: number;
  readonly message: string;
}

/** Errors after which the same batch is sent again (Kafka's RetriableException family). */
export const RETRIABLE = new Set([2, 3, 5, 6, 7, 8, 13, 14, 15, 16, 19, 20, 56, 74, 75, 89]);
export const LEADER_MOVED = new Set([3, 5, 6, 74, 75]);
/**
 * Refusals a broker makes before it writes anything (the batch's records, topic, ACLs, format):
 * after one the partition's sequence can go back to the refused batch's. Any other error whose
 * batch may have been written is met with a new producer session instead, as Java's producer
 * bumps its epoch (KIP-360): reusing a sequence the broker may hold could have new records
 * answered as duplicates of old ones.
 */
export const REFUSED_BEFORE_WRITE = new Set([
  10 /* MESSAGE_TOO_LARGE */, 17 /* INVALID_TOPIC_EXCEPTION */, 18 /* RECORD_LIST_TOO_LARGE */, 21 /* INVALID_REQUIRED_ACKS */,
  29 /* TOPIC_AUTHORIZATION_FAILED */, 31 /* CLUSTER_AUTHORIZATION_FAILED */, 32 /* INVALID_TIMESTAMP */, 35 /* UNSUPPORTED_VERSION */,
  43 /* UNSUPPORTED_FOR_MESSAGE_FORMAT */, 44 /* POLICY_VIOLATION */, 76 /* UNSUPPORTED_COMPRESSION_TYPE */, 87 /* INVALID_RECORD */,
]);
export const OUT_OF_ORDER_SEQUENCE = 45;
export const DUPLICATE_SEQUENCE = 46;

/** "MESSAGE_TOO_LARGE (10): <the broker's message>", as an operator looks it up. */
export function describeError(code: number, brokerMessage: string | null): string {
  const name = `${errorName(code) ?? 'error'} (${code})`;
  return brokerMessage === null || brokerMessage === '' ? name : `${name}: ${brokerMessage}`;
}
