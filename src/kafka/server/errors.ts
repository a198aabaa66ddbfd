/**
 * The one table from Weir's error codes to Kafka's. `satisfies Record<ErrorCode, …>` makes a
 * new Weir code a compile error here until someone decides what clients should see for it.
 */
import { isWeirError, type ErrorCode } from '../../errors.js';
import { errorCode, type KafkaErrorName } from '../protocol/error-codes.js';

const WEIR_TO_KAFKA = {
  CONFIG_INVALID: 'INVALID_CONFIG',
  CONFIG_UNREADABLE: 'UNKNOWN_SERVER_ERROR',
  INVALID_TOPIC_NAME: 'INVALID_TOPIC_EXCEPTION',
  UNKNOWN_TOPIC_OR_PARTITION: 'UNKNOWN_TOPIC_OR_PARTITION',
  TOPIC_ALREADY_EXISTS: 'TOPIC_ALREADY_EXISTS',
  INVALID_CONFIG: 'INVALID_CONFIG',
  INVALID_PARTITIONS: 'INVALID_PARTITIONS',
  TOPIC_LIMIT_REACHED: 'POLICY_VIOLATION',
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  CORRUPT_MESSAGE: 'CORRUPT_MESSAGE',
  // Produce v8+ (KIP-467); the produce handler answers CORRUPT_MESSAGE to older versions.
  INVALID_RECORD: 'INVALID_RECORD',
  POLICY_VIOLATION: 'POLICY_VIOLATION',
  UNSUPPORTED_COMPRESSION_TYPE: 'UNSUPPORTED_COMPRESSION_TYPE',
  OFFSET_OUT_OF_RANGE: 'OFFSET_OUT_OF_RANGE',
  // Overflow policy reject-new: not retriable, the operator's policy refused the write.
  DISK_BUDGET_FULL: 'POLICY_VIOLATION',
  // Policy `block` or a full write queue: the bounded wait ran out; a retriable code, so clients retry.
  DISK_BUDGET_FULL_RETRIABLE: 'REQUEST_TIMED_OUT',
  WRITE_QUEUE_FULL: 'REQUEST_TIMED_OUT',
  // A closing store is a broker going away: clients refresh metadata and retry elsewhere/later.
  STORE_CLOSED: 'NOT_LEADER_FOR_PARTITION',
  STORE_LOCKED: 'UNKNOWN_SERVER_ERROR',
  STORE_FORMAT_MISMATCH: 'UNKNOWN_SERVER_ERROR',
  LISTEN_FAILED: 'UNKNOWN_SERVER_ERROR',
  STORAGE_ERROR: 'KAFKA_STORAGE_ERROR',
  INVALID_ARGUMENT: 'INVALID_REQUEST',
  USAGE: 'INVALID_REQUEST',
  MIRROR_CLIENT_MISSING: 'UNKNOWN_SERVER_ERROR',
  MIRROR_FENCED: 'UNKNOWN_SERVER_ERROR',
  MIRROR_TXN_FAILED: 'UNKNOWN_SERVER_ERROR',
  KAFKA_CLIENT_ERROR: 'UNKNOWN_SERVER_ERROR',
  SASL_AUTHENTICATION_FAILED: 'SASL_AUTHENTICATION_FAILED',
} as const satisfies Record<ErrorCode, KafkaErrorName>;

/** Kafka's name for any thrown value: WeirErrors by the table, anything else UNKNOWN_SERVER_ERROR. */
export function kafkaErrorName(err: unknown): KafkaErrorName {
  return isWeirError(err) ? WEIR_TO_KAFKA[err.code] : 'UNKNOWN_SERVER_ERROR';
}

/** Kafka's numeric code for any thrown value. */
export function kafkaErrorCode(err: unknown): number {
  return errorCode(kafkaErrorName(err));
}

/** The message to put in a response's error_message field (never a stack). */
export function kafkaErrorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
