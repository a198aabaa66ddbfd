/**
 * Checks an append before it is queued, so bad input costs only its sender: nothing invalid ever
 * reaches a group commit that other callers' records share.
 */
import { WeirError } from '../errors.js';
import { CompressionType, decompress, DEFAULT_MAX_DECOMPRESSED_BYTES } from '../kafka/protocol/compression.js';
import { readBatchHeader, RECORDS_OFFSET, splitRecordSet, verifyBatchCrc, type RecordInput } from '../kafka/protocol/record-batch.js';
import { checkRecords, headerKeyLength } from '../kafka/protocol/records.js';
import { compacts, type TopicConfig } from './topic-config.js';
import type { ValidatedBatches } from './types.js';

/** Per-record framing overhead used to size an append before it is encoded (varints, attributes). */
const RECORD_OVERHEAD_ESTIMATE = 24;

function tooLarge(bytes: number, config: TopicConfig, topic: string, partition: number, what: string): WeirError {
  const max = config['max.message.bytes'];
  return new WeirError(
    'MESSAGE_TOO_LARGE',
    `${what} of ${bytes} bytes exceeds max.message.bytes=${max} of topic ${topic}; raise it with weir topics alter --topic ${topic} --config max.message.bytes=N`,
    { details: { topic, partition, bytes, max } },
  );
}

/** One refused record of an append, as Kafka's Produce v8+ lists them (KIP-467 record_errors). */
export interface RecordError {
  /** The record's index in the append (in its batch, when the append is one batch). */
  batchIndex: number;
  message: string;
}

/**
 * Kafka refuses a record without a key on a compacted topic (LogValidator.validateKey), with this
 * message per record: compaction keeps the latest record per key, and such a record has none.
 */
function keylessRefusal(topic: string, partition: number, indexes: number[]): WeirError {
  const message = `Compacted topic cannot accept message without key in topic partition ${topic}-${partition}.`;
  const recordErrors: RecordError[] = indexes.map((batchIndex) => ({ batchIndex, message }));
  return new WeirError('INVALID_RECORD', message, { details: { topic, partition, recordErrors } });
}

/**
 * Estimated batch bytes of store-built records; throws MESSAGE_TOO_LARGE past the topic's limit,
 * and INVALID_RECORD for records without a key when the topic's cleanup.policy compacts.
 */
export function checkRecordsSize(records: RecordInput[], config: TopicConfig, topic: string, partition: number): number {
  if (records.length === 0) throw new WeirError('INVALID_ARGUMENT', 'appendRecords needs at least one record');
  const keyed = compacts(config);
  let keyless: number[] | undefined;
  let bytes = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (keyed && r.key === null) (keyless ??= []).push(i);
    bytes += RECORD_OVERHEAD_ESTIMATE + (r.key?.length ?? 0) + (r.value?.length ?? 0);
    const headers = r.headers;
    if (headers !== undefined) for (const h of headers) bytes += 4 + headerKeyLength(h.key) + (h.value?.length ?? 0);
  }
  if (bytes > config['max.message.bytes']) throw tooLarge(bytes, config, topic, partition, 'records');
  if (keyless !== undefined) throw keylessRefusal(topic, partition, keyless);
  return bytes;
}

/**
 * Splits a client's record set into its batches and checks each as a Kafka broker does: size,
 * no control batches from clients, offset deltas that match the record count, the CRC-32C, and
 * the records themselves: every record's framing must fill the batch exactly, recordCount of them
 * with offset deltas 0..recordCount-1 (compressed batches are decompressed to check, at most
 * DEFAULT_MAX_DECOMPRESSED_BYTES). A batch whose CRC matches garbage is refused here, not stored
 * for every consumer to choke on. On a topic whose cleanup.policy compacts, that same walk finds
 * records without a key, refused with INVALID_RECORD; other topics pass no callback.
 */
export function validateClientBatches(recordSet: Buffer, config: TopicConfig, topic: string, partition: number): ValidatedBatches {
  const batches = splitRecordSet(recordSet);
  if (batches.length === 0) throw new WeirError('CORRUPT_MESSAGE', 'the record set holds no record batch');
  const keyless: number[] | undefined = compacts(config) ? [] : undefined;
  let records = 0;
  for (const batch of batches) {
    const header = readBatchHeader(batch);
    if (header.sizeInBytes > config['max.message.bytes']) throw tooLarge(header.sizeInBytes, config, topic, partition, 'a record batch');
    if (header.isControl) throw new WeirError('CORRUPT_MESSAGE', 'clients may not write control batches');
    if (header.recordCount <= 0 || header.lastOffsetDelta !== header.recordCount - 1) {
      throw new WeirError('CORRUPT_MESSAGE', `record batch has ${header.recordCount} records but lastOffsetDelta ${header.lastOffsetDelta}`);
    }
    if (!verifyBatchCrc(batch)) throw new WeirError('CORRUPT_MESSAGE', 'record batch CRC-32C does not match its contents');
    const first = records;
    checkBatchRecords(batch, header.compression, header.sizeInBytes, header.recordCount, keyless && ((i) => keyless.push(first + i)));
    records += header.recordCount;
  }
  if (keyless !== undefined && keyless.length > 0) throw keylessRefusal(topic, partition, keyless);
  return { topic, partition, batches, records, bytes: recordSet.length };
}

function checkBatchRecords(batch: Buffer, compression: CompressionType, sizeInBytes: number, recordCount: number, onKeyless?: (index: number) => void): void {
  if (compression === CompressionType.None) {
    checkRecords(batch, RECORDS_OFFSET, sizeInBytes, recordCount, onKeyless);
    return;
  }
  // Garbage throws CORRUPT_MESSAGE, a bomb past the cap MESSAGE_TOO_LARGE (compression.ts).
  const data = decompress(compression, batch.subarray(RECORDS_OFFSET, sizeInBytes), DEFAULT_MAX_DECOMPRESSED_BYTES);
  checkRecords(data, 0, data.length, recordCount, onKeyless);
}
