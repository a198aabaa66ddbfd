/**
 * The transactional producer of an exactly-once rule (KIP-98): librdkafka's producer with a
 * `transactional.id` derived from the device id and the rule, its transaction calls as promises,
 * and how its errors are told apart.
 *
 * The transactional.id is what fences: a second gateway started with the same device id and rule
 * initialises the same id, which bumps the producer epoch upstream, aborts the first's open
 * transaction and makes every later write or commit of the first fail with a fatal FENCED error.
 */
import { WeirError } from '../../src/errors.js';
import { disconnect, producerConfig, type KafkaModule, type LibrdKafkaError, type Producer } from './client.js';
import type { MirrorRuleSpec, UpstreamSpec } from './config.js';

/**
 * Upper bound on one transaction (librdkafka's transaction.timeout.ms): the upstream aborts a
 * transaction left open longer, e.g. by an edge that died mid-chunk. Within Apache Kafka's default
 * transaction.max.timeout.ms (15 min) and Weir's.
 */
export const TRANSACTION_TIMEOUT_MS = 60_000;
/** Each transaction call's own bound (init, commit, abort); a timeout is retriable. */
export const CALL_TIMEOUT_MS = 30_000;

export function transactionalId(deviceId: string, rule: string): string {
  return `weir-mirror.${deviceId}.${rule}`;
}

/**
 * The rule's producer settings plus a transactional.id. message.timeout.ms must not exceed
 * transaction.timeout.ms (librdkafka refuses the config otherwise): a record that cannot be
 * delivered within the transaction fails it, and the mirror starts over from the upstream's cursors.
 */
export function transactionalConfig(upstream: UpstreamSpec, rule: MirrorRuleSpec, deviceId: string): Record<string, string | number | boolean> {
  return {
    ...producerConfig(upstream, rule, deviceId),
    'transactional.id': transactionalId(deviceId, rule.name),
    'transaction.timeout.ms': TRANSACTION_TIMEOUT_MS,
    'message.timeout.ms': TRANSACTION_TIMEOUT_MS,
    // Delivery reports are not needed: commitTransaction fails when any record of it failed.
    dr_cb: false,
  };
}

/** librdkafka's fencing codes: its own _FENCED and the broker's PRODUCER_FENCED, INVALID_PRODUCER_EPOCH. */
export function isFenced(kafka: KafkaModule, err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  const E = kafka.CODES.ERRORS;
  return code === E.ERR__FENCED || code === E.ERR_PRODUCER_FENCED || code === E.ERR_INVALID_PRODUCER_EPOCH;
}

function settle(op: string, run: (cb: (err: LibrdKafkaError | null | undefined) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      run((err) => (err ? reject(Object.assign(err instanceof Error ? err : new Error(String((err as { message?: unknown }).message ?? err)), { op, code: err.code, isFatal: err.isFatal })) : resolve()));
    } catch (err) {
      reject(err);
    }
  });
}

/**
 * The transaction calls of one producer, as promises that reject with librdkafka's error.
 *
 * A producer must not be disconnected while a transaction call runs: the call runs on a worker
 * thread and goes on queueing requests (commitTransaction flushes, then ends the transaction),
 * and one queued on a producer being destroyed fails an assertion inside librdkafka ("rk_ops
 * queue disabled") that aborts the whole process. So `close()` waits for the call under way
 * (each is bounded by CALL_TIMEOUT_MS), and no call starts once it began.
 */
export class TxnProducer {
  private closed = false;
  /** The transaction call under way, settled or not (never rejects). */
  private underWay: Promise<unknown> = Promise.resolve();

  constructor(readonly producer: Producer) {}

  init(): Promise<void> {
    return this.call('initTransactions', (cb) => this.producer.initTransactions(CALL_TIMEOUT_MS, cb));
  }

  begin(): Promise<void> {
    return this.call('beginTransaction', (cb) => this.producer.beginTransaction(cb));
  }

  commit(): Promise<void> {
    return this.call('commitTransaction', (cb) => this.producer.commitTransaction(CALL_TIMEOUT_MS, cb));
  }

  abort(): Promise<void> {
    return this.call('abortTransaction', (cb) => this.producer.abortTransaction(CALL_TIMEOUT_MS, cb));
  }

  /**
   * Disconnects once the call under way returned (what is not committed is aborted by the next
   * initTransactions, or by its timeout).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.underWay;
    await disconnect(this.producer, 0);
  }

  private call(op: string, run: (cb: (err: LibrdKafkaError | null | undefined) => void) => void): Promise<void> {
    if (this.closed) return Promise.reject(new WeirError('MIRROR_TXN_FAILED', `${op}: the producer was closed`));
    const done = settle(op, run);
    this.underWay = done.catch(() => undefined);
    return done;
  }
}

/** The error an exactly-once rule stops with when it is fenced, naming what to check. */
export function fencedError(deviceId: string, rule: string, cause: unknown): WeirError {
  return new WeirError(
    'MIRROR_FENCED',
    `mirror rule ${rule} was fenced: another gateway started with device.id "${deviceId}" and the same rule (transactional.id ${transactionalId(deviceId, rule)}) and now writes in its place; this one stopped mirroring. Give every gateway its own device.id, then restart this one`,
    { cause, details: { rule, deviceId, transactionalId: transactionalId(deviceId, rule) } },
  );
}
