/**
 * One error base class for all of Weir, with a closed list of stable codes.
 *
 * Callers tell errors apart by `code` (never by message text) and act on `retriable`:
 * the Kafka listener maps codes to Kafka error codes, the MQTT bridge decides between
 * delaying an ack and disconnecting, the mirror decides between backing off and giving up.
 *
 * The brand symbol lets `isWeirError` work across duplicate installs of this module
 * (the same trick as undici's `lib/core/errors.js`).
 */

const kWeirError = Symbol.for('weir.error');

/** Every code Weir can raise, with whether a caller may retry the same operation later. */
export const ErrorCodes = {
  /** The configuration file or environment failed validation. */
  CONFIG_INVALID: { retriable: false },
  /** The configuration file could not be read or parsed. */
  CONFIG_UNREADABLE: { retriable: false },
  /** A topic name breaks Kafka's naming rules. */
  INVALID_TOPIC_NAME: { retriable: false },
  /** The topic (or the partition of it) does not exist. */
  UNKNOWN_TOPIC_OR_PARTITION: { retriable: false },
  /** CreateTopics on a name that is already taken. */
  TOPIC_ALREADY_EXISTS: { retriable: false },
  /** A topic config key is unknown or its value is out of range. */
  INVALID_CONFIG: { retriable: false },
  /** Partition count out of range (creating or growing a topic). */
  INVALID_PARTITIONS: { retriable: false },
  /** Creating a topic or partitions would pass `store.max_topics` or `store.max_partitions`. */
  TOPIC_LIMIT_REACHED: { retriable: false },
  /** A record batch exceeds the topic's `max.message.bytes`. */
  MESSAGE_TOO_LARGE: { retriable: false },
  /**
   * A well-formed record the topic cannot take: a record without a key on a topic whose
   * cleanup.policy compacts (Kafka's INVALID_RECORD). `details.recordErrors` lists them.
   */
  INVALID_RECORD: { retriable: false },
  /** Bytes that should be a RecordBatch v2 are not (bad magic, CRC, lengths). */
  CORRUPT_MESSAGE: { retriable: false },
  /** A compression codec Weir cannot decode or encode. */
  UNSUPPORTED_COMPRESSION_TYPE: { retriable: false },
  /** A fetch or lookup for an offset outside [logStartOffset, highWatermark]. */
  OFFSET_OUT_OF_RANGE: { retriable: false },
  /** The topic's cleanup.policy forbids the operation: DeleteRecords on a compact-only topic. */
  POLICY_VIOLATION: { retriable: false },
  /** The disk budget is full and the topic's overflow policy is `reject-new`. */
  DISK_BUDGET_FULL: { retriable: false },
  /** The disk budget is full with policy `block`, and the bounded wait ran out. */
  DISK_BUDGET_FULL_RETRIABLE: { retriable: true },
  /** The store's write queue is at its cap and the bounded wait ran out. */
  WRITE_QUEUE_FULL: { retriable: true },
  /** An operation on a store that is closing or closed. */
  STORE_CLOSED: { retriable: true },
  /** The data directory is locked by another Weir process. */
  STORE_LOCKED: { retriable: false },
  /** The data directory was written by a Weir with another store format. */
  STORE_FORMAT_MISMATCH: { retriable: false },
  /** A listener could not bind its address (in use by another program, privileged port, not this machine's). */
  LISTEN_FAILED: { retriable: false },
  /** LMDB reported an I/O or map error while committing. */
  STORAGE_ERROR: { retriable: true },
  /** A wrong argument to a Weir API (a programming or usage error). */
  INVALID_ARGUMENT: { retriable: false },
  /** Upstreams are configured but the mirror's Kafka client (@confluentinc/kafka-javascript) did not build. */
  MIRROR_CLIENT_MISSING: { retriable: false },
  /** An exactly-once mirror rule was fenced: another gateway initialised the same transactional.id (device id and rule). */
  MIRROR_FENCED: { retriable: false },
  /** An exactly-once mirror rule's transaction or cursor read failed; it starts over from the upstream's cursors. */
  MIRROR_TXN_FAILED: { retriable: true },
  /** A CLI invocation that cannot be carried out as given. */
  USAGE: { retriable: false },
  /** A `weir` command talking the Kafka protocol (--bootstrap-server) got an error from the broker or the network. */
  KAFKA_CLIENT_ERROR: { retriable: false },
  /** A Kafka client's SASL credentials were refused (wrong password, unknown user, bad exchange). */
  SASL_AUTHENTICATION_FAILED: { retriable: false },
} as const satisfies Record<string, { retriable: boolean }>;

export type ErrorCode = keyof typeof ErrorCodes;

export interface WeirErrorOptions {
  cause?: unknown;
  /** Structured details (field names, values) for logs and API error messages. */
  details?: Record<string, unknown>;
}

export class WeirError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: WeirErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WeirError';
    this.code = code;
    this.retriable = ErrorCodes[code].retriable;
    this.details = options.details;
  }

  get [kWeirError](): true {
    return true;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, retriable: this.retriable, message: this.message, details: this.details };
  }
}

export function isWeirError(err: unknown, code?: ErrorCode): err is WeirError {
  if (typeof err !== 'object' || err === null) return false;
  if ((err as { [kWeirError]?: unknown })[kWeirError] !== true) return false;
  return code === undefined || (err as WeirError).code === code;
}
