/**
 * Produce: advertise 0–11 (old librdkafka turns compression off unless v0 is in the advertised
 * range), serve 3–11, answer 0–2 with UNSUPPORTED_VERSION per partition (they carry message sets
 * v0/v1, which Weir does not store).
 *
 * acks 1 and -1 are the same on one node: the response is sent only after the store's durable
 * commit, since acknowledged means on disk (docs/architecture.md, "Promises"). acks 0 is served
 * the same way but answered with nothing; it keeps its place in the connection's order.
 *
 * Transactional batches (KIP-98) are taken only from the producer of the request's
 * transactional_id, at its current epoch, into a partition its open transaction holds (the
 * coordinator's check, before Kafka's idempotent sequence check, which they pass too).
 */
import { ApiKey } from '../../protocol/api-keys.js';
import {
  decodeProduceRequest, encodeProduceResponse, PRODUCE_FIRST_FLEXIBLE, type ProducePartitionResponse, type ProduceRequest,
} from '../../protocol/apis/produce.js';
import { errorCode, type KafkaErrorName } from '../../protocol/error-codes.js';
import { NO_PRODUCER_ID, readBatchHeader, splitRecordSet, type BatchHeader } from '../../protocol/record-batch.js';
import type { Logger } from '../../../logger.js';
import type { RecordLog } from '../../../store/types.js';
import { isWeirError } from '../../../errors.js';
import { kafkaErrorCode, kafkaErrorMessage } from '../errors.js';
import { defineHandler, NO_RESPONSE } from '../handler.js';
import { incrementSequence, type ProducerStateManager } from '../producer-state.js';
import type { TransactionCoordinator } from '../transactions/coordinator.js';
import type { TopicResolver } from '../topics.js';

export const PRODUCE_MIN_SERVED_VERSION = 3;

function failed(index: number, name: KafkaErrorName, message: string | null): ProducePartitionResponse {
  return { index, errorCode: errorCode(name), baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, errorMessage: message };
}

export function createProduceHandler(deps: { store: RecordLog; topics: TopicResolver; producers: ProducerStateManager; transactions?: TransactionCoordinator }) {
  const { store, topics, producers, transactions } = deps;

  async function producePartition(topic: string, index: number, records: Buffer | null, transactionalId: string | null): Promise<ProducePartitionResponse> {
    if (records === null || records.length === 0) return failed(index, 'CORRUPT_MESSAGE', 'no records');
    try {
      if (!(await topics.ensure(topic))) return failed(index, 'UNKNOWN_TOPIC_OR_PARTITION', `unknown topic ${topic}`);
      const set = checkRecordSet(records);
      if (typeof set === 'string') return failed(index, 'INVALID_RECORD', set);
      const { first, recordCount } = set;
      if (first.producerId === NO_PRODUCER_ID) return appended(index, await store.appendBatches(topic, index, records));
      const admitted = first.isTransactional ? admitTransactional(first, transactionalId, topic, index) : undefined;
      if (admitted !== undefined && 'error' in admitted) return failed(index, admitted.error, admitted.message);
      try {
        // Checked before the sequence is taken, as Kafka's Log.append validates the records
        // (LogValidator) before it looks at producer state (KIP-98): a refused batch must not move
        // the sequence that a pipelined batch behind it is checked against.
        const validated = store.validateBatches(topic, index, records);
        const seq = await producers.append(topic, index, {
          producerId: first.producerId, producerEpoch: first.producerEpoch, firstSeq: first.baseSequence, recordCount,
        }, () => store.appendValidatedBatches(validated));
        if (!seq.ok) return failed(index, seq.error, seq.message);
        return appended(index, seq.result);
      } finally {
        admitted?.release();
      }
    } catch (err) {
      return { ...failed(index, 'NONE', kafkaErrorMessage(err)), errorCode: kafkaErrorCode(err), recordErrors: recordErrorsOf(err) };
    }
  }

  function admitTransactional(first: BatchHeader, transactionalId: string | null, topic: string, index: number) {
    if (transactions === undefined) return { error: 'INVALID_RECORD' as const, message: 'transactions are not served by this listener' };
    return transactions.admitProduce(transactionalId, first.producerId, first.producerEpoch, topic, index);
  }

  return defineHandler({
    apiKey: ApiKey.Produce,
    name: 'Produce',
    minVersion: 0,
    maxVersion: 11,
    firstFlexibleVersion: PRODUCE_FIRST_FLEXIBLE,
    decode: decodeProduceRequest,
    encode: encodeProduceResponse,
    async handle(req, ctx) {
      const refuse = requestRefusal(req, ctx.apiVersion, transactions !== undefined);
      const responses = await Promise.all(req.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(t.partitions.map((p) =>
          refuse !== undefined ? failed(p.index, refuse.name, refuse.message) : producePartition(t.name, p.index, p.records, req.transactionalId))),
      })));
      if (ctx.apiVersion < INVALID_RECORD_FIRST_VERSION) for (const t of responses) t.partitions.forEach(asCorruptMessage);
      if (req.acks === 0) {
        logAcksZeroFailures(responses, ctx.log);
        return NO_RESPONSE;
      }
      return { responses, throttleTimeMs: 0 };
    },
  });
}

/** INVALID_RECORD and record_errors came with Produce v8 (KIP-467). */
const INVALID_RECORD_FIRST_VERSION = 8;
const INVALID_RECORD = errorCode('INVALID_RECORD');

/** Kafka answers clients older than v8, which do not know INVALID_RECORD, with CORRUPT_MESSAGE. */
function asCorruptMessage(p: ProducePartitionResponse): void {
  if (p.errorCode === INVALID_RECORD) p.errorCode = errorCode('CORRUPT_MESSAGE');
}

/** The store's per-record refusals (keyless records on a compacted topic), for record_errors. */
function recordErrorsOf(err: unknown): ProducePartitionResponse['recordErrors'] {
  const list = isWeirError(err) ? err.details?.recordErrors : undefined;
  return Array.isArray(list) ? (list as { batchIndex: number; message: string }[]) : undefined;
}

function appended(index: number, r: { baseOffset: number; logStartOffset: number }): ProducePartitionResponse {
  return { index, errorCode: 0, baseOffset: r.baseOffset, logAppendTimeMs: -1, logStartOffset: r.logStartOffset, errorMessage: null };
}

/**
 * Checks the store does not make: what Kafka calls an invalid record (not a corrupt one). The
 * reason a record set is invalid, or its first batch's header and its record count.
 */
function checkRecordSet(records: Buffer): string | { first: BatchHeader; recordCount: number } {
  const batches = splitRecordSet(records);
  let recordCount = 0;
  const first = readBatchHeader(batches[0]!);
  for (const b of batches) {
    const h = readBatchHeader(b);
    if (h.isControl) return 'clients may not write control batches';
    if (h.isTransactional !== first.isTransactional) return 'every batch of a record set must be transactional, or none';
    if (h.isTransactional && h.producerId === NO_PRODUCER_ID) return 'a transactional batch needs a producer id';
    if (h.producerId !== first.producerId || (h.producerId !== NO_PRODUCER_ID && h.baseSequence !== incrementSequence(first.baseSequence, recordCount))) {
      return 'batches of one record set must share a producer and continue its sequence';
    }
    recordCount += h.lastOffsetDelta + 1;
  }
  return { first, recordCount };
}

/** Why every partition of the request is refused, if it is. */
function requestRefusal(req: ProduceRequest, apiVersion: number, servesTransactions: boolean): { name: KafkaErrorName; message: string } | undefined {
  if (apiVersion < PRODUCE_MIN_SERVED_VERSION) return { name: 'UNSUPPORTED_VERSION', message: 'Produce v0–2 (message format v0/v1) is not supported: use v3 or later' };
  if (req.transactionalId !== null && !servesTransactions) return { name: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', message: 'transactions are not supported by Weir' };
  if (req.acks !== 0 && req.acks !== 1 && req.acks !== -1) return { name: 'INVALID_REQUIRED_ACKS', message: `acks must be 0, 1 or -1, not ${req.acks}` };
  return undefined;
}

/** acks=0 has no response to carry an error, so failures are logged (at debug: the client asked not to hear). */
function logAcksZeroFailures(responses: readonly { name: string; partitions: readonly ProducePartitionResponse[] }[], log: Logger): void {
  for (const t of responses) {
    for (const p of t.partitions) {
      if (p.errorCode !== 0) log.debug({ topic: t.name, partition: p.index, errorCode: p.errorCode, message: p.errorMessage }, 'acks=0 produce failed');
    }
  }
}
