/**
 * Kafka RecordBatch v2 (magic 2), the unit Weir stores, serves and mirrors byte for byte.
 * Grammar from Kafka's protocol documentation ("Record Batch", KIP-98):
 *
 *   RecordBatch =>
 *     baseOffset:           int64
 *     batchLength:          int32   (bytes after this field: size - 12)
 *     partitionLeaderEpoch: int32
 *     magic:                int8    (2)
 *     crc:                  uint32  (CRC-32C of attributes .. end)
 *     attributes:           int16   bits 0-2 compression, 3 timestampType (1 = LogAppendTime),
 *                                   4 isTransactional, 5 isControl, 6 hasDeleteHorizonMs
 *     lastOffsetDelta:      int32
 *     baseTimestamp:        int64
 *     maxTimestamp:         int64
 *     producerId:           int64
 *     producerEpoch:        int16
 *     baseSequence:         int32
 *     recordsCount:         int32
 *     records:              [Record] (see records.ts), compressed as a whole when bits 0-2 != 0
 *
 * Because the CRC starts at `attributes`, a broker can assign baseOffset and
 * partitionLeaderEpoch in place without recomputing it (setBaseOffset, setPartitionLeaderEpoch).
 * int64 fields are read as JS numbers and must be safe integers (|n| < 2^53); anything else is
 * CORRUPT_MESSAGE. Offsets, millisecond timestamps and producer ids are all far below that.
 */

import { WeirError } from '../../errors.js';
import { CompressionType, compress, decompress, isCompressionType, DEFAULT_MAX_DECOMPRESSED_BYTES } from './compression.js';
import { crc32c } from './crc32c.js';
import { readRecords, sizeOfRecordBody, writeRecord, type DecodedRecord, type RecordInput } from './records.js';
import { sizeOfVarint } from './varint.js';

export type { DecodedRecord, RecordHeader, RecordInput } from './records.js';

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORDS_COUNT_OFFSET = 57;
export const RECORDS_OFFSET = 61;
/** Size of a batch with no records. */
export const RECORD_BATCH_OVERHEAD = 61;
/** baseOffset + batchLength: the bytes not counted by batchLength (Java's `Records.LOG_OVERHEAD`). */
export const LOG_OVERHEAD = 12;
export const MAGIC_V2 = 2;

export const COMPRESSION_MASK = 0x07;
export const TIMESTAMP_TYPE_MASK = 0x08;
export const TRANSACTIONAL_MASK = 0x10;
export const CONTROL_MASK = 0x20;

/** Java's `RecordBatch.NO_PRODUCER_ID` etc.: what a non-idempotent producer sends. */
export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  compression: CompressionType;
  timestampType: 0 | 1;
  isTransactional: boolean;
  isControl: boolean;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
  /** total size in bytes = 12 + batchLength */
  sizeInBytes: number;
}

/** The offset after a batch's span: compaction may thin a batch out, never shorten its span. */
export function batchEnd(header: Pick<BatchHeader, 'baseOffset' | 'lastOffsetDelta'>): number {
  return header.baseOffset + header.lastOffsetDelta + 1;
}

export interface EncodeRecordBatchOptions {
  baseOffset: number;
  records: RecordInput[];
  compression?: CompressionType;
  /** Timestamp for records without one (and maxTimestamp for LogAppendTime); default Date.now(). */
  now?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  partitionLeaderEpoch?: number;
  timestampType?: 0 | 1;
  /** Sets the isTransactional attribute (KIP-98): the batch belongs to a producer's transaction. */
  transactional?: boolean;
}

function corrupt(message: string, details?: Record<string, unknown>): WeirError {
  return new WeirError('CORRUPT_MESSAGE', `record batch: ${message}`, { details });
}

function invalid(message: string): WeirError {
  return new WeirError('INVALID_ARGUMENT', `record batch: ${message}`);
}

function readInt64(buf: Buffer, pos: number, field: string): number {
  const value = buf.readInt32BE(pos) * 2 ** 32 + buf.readUInt32BE(pos + 4);
  if (!Number.isSafeInteger(value)) throw corrupt(`${field} is outside the safe integer range`);
  return value;
}

function writeInt64(buf: Buffer, pos: number, value: number): void {
  const high = Math.floor(value / 2 ** 32);
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(value - high * 2 ** 32, pos + 4);
}

/** Parse the fixed 61-byte header at `offset`; needs the whole batch in `buf`. No decompression. */
export function readBatchHeader(buf: Buffer, offset = 0): BatchHeader {
  if (!Number.isInteger(offset) || offset < 0 || buf.length - offset < RECORD_BATCH_OVERHEAD) {
    throw corrupt(`${buf.length - offset} bytes is too short for a batch header`);
  }
  const magic = buf.readInt8(offset + MAGIC_OFFSET);
  if (magic !== MAGIC_V2) throw corrupt(`unsupported magic ${magic}`, { magic });
  const batchLength = buf.readInt32BE(offset + BATCH_LENGTH_OFFSET);
  const sizeInBytes = LOG_OVERHEAD + batchLength;
  if (sizeInBytes < RECORD_BATCH_OVERHEAD) throw corrupt(`batchLength ${batchLength} is smaller than a header`);
  if (sizeInBytes > buf.length - offset) throw corrupt(`batchLength ${batchLength} runs past the ${buf.length - offset} bytes given`);
  const attributes = buf.readInt16BE(offset + ATTRIBUTES_OFFSET);
  const compression = attributes & COMPRESSION_MASK;
  if (!isCompressionType(compression)) {
    throw new WeirError('UNSUPPORTED_COMPRESSION_TYPE', `record batch: unknown compression type ${compression}`, { details: { compression } });
  }
  const recordCount = buf.readInt32BE(offset + RECORDS_COUNT_OFFSET);
  if (recordCount < 0) throw corrupt(`negative record count ${recordCount}`);
  return {
    baseOffset: readInt64(buf, offset + BASE_OFFSET_OFFSET, 'baseOffset'),
    batchLength,
    partitionLeaderEpoch: buf.readInt32BE(offset + PARTITION_LEADER_EPOCH_OFFSET),
    magic,
    crc: buf.readUInt32BE(offset + CRC_OFFSET),
    attributes,
    compression,
    timestampType: attributes & TIMESTAMP_TYPE_MASK ? 1 : 0,
    isTransactional: (attributes & TRANSACTIONAL_MASK) !== 0,
    isControl: (attributes & CONTROL_MASK) !== 0,
    lastOffsetDelta: buf.readInt32BE(offset + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: readInt64(buf, offset + BASE_TIMESTAMP_OFFSET, 'baseTimestamp'),
    maxTimestamp: readInt64(buf, offset + MAX_TIMESTAMP_OFFSET, 'maxTimestamp'),
    producerId: readInt64(buf, offset + PRODUCER_ID_OFFSET, 'producerId'),
    producerEpoch: buf.readInt16BE(offset + PRODUCER_EPOCH_OFFSET),
    baseSequence: buf.readInt32BE(offset + BASE_SEQUENCE_OFFSET),
    recordCount,
    sizeInBytes,
  };
}

/** Whether the stored CRC matches the batch at `offset` (whose header must be readable). */
export function verifyBatchCrc(buf: Buffer, offset = 0): boolean {
  const header = readBatchHeader(buf, offset);
  return crc32c(buf, offset + ATTRIBUTES_OFFSET, offset + header.sizeInBytes) === header.crc;
}

/**
 * Decode the batch at the start of `buf`: check the CRC, decompress (at most
 * `maxUncompressedBytes`, default DEFAULT_MAX_DECOMPRESSED_BYTES) and read every record.
 * Keys and values are views into `buf` or into the decompressed bytes.
 */
export function decodeRecordBatch(
  buf: Buffer, opts: { maxUncompressedBytes?: number } = {},
): { header: BatchHeader; records: DecodedRecord[] } {
  const header = readBatchHeader(buf, 0);
  const crc = crc32c(buf, ATTRIBUTES_OFFSET, header.sizeInBytes);
  if (crc !== header.crc) throw corrupt(`CRC mismatch: stored ${header.crc}, computed ${crc}`, { stored: header.crc, computed: crc });
  let data = buf;
  let start = RECORDS_OFFSET;
  let end = header.sizeInBytes;
  if (header.compression !== CompressionType.None) {
    data = decompress(header.compression, buf.subarray(start, end), opts.maxUncompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);
    start = 0;
    end = data.length;
  }
  const records = readRecords(data, start, end, header.recordCount, {
    baseOffset: header.baseOffset,
    baseTimestamp: header.baseTimestamp,
    // DefaultRecordBatch: with LogAppendTime every record carries the batch's maxTimestamp.
    logAppendTime: header.timestampType === 1 ? header.maxTimestamp : null,
  });
  return { header, records };
}

/** Reused input buffer for compressed batches (compressors always return fresh buffers). */
let scratch = Buffer.allocUnsafe(64 * 1024);
/** Body sizes from the sizing pass, reused across calls. */
let bodySizes = new Int32Array(1024);

/**
 * Encode records as one batch. Sizes everything first and writes into a single allocation
 * (for compressed batches: one reused scratch buffer plus the output).
 *
 * baseTimestamp is the smallest record timestamp so deltas are never negative (kafkajs does the
 * same; Java uses the first record's, and readers accept either).
 *
 * Long on purpose: this is the store's write path for every batch Weir builds (each MQTT group
 * commit, per partition); checking, sizing and writing share a dozen header fields as locals in
 * one frame, in the order the batch is laid out, rather than passing them between helpers.
 */
export function encodeRecordBatch(opts: EncodeRecordBatchOptions): Buffer {
  const { records, baseOffset } = opts;
  const compression = opts.compression ?? CompressionType.None;
  const timestampType = opts.timestampType ?? 0;
  const n = records.length;
  if (n === 0) throw invalid('a batch needs at least one record');
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) throw invalid(`baseOffset ${baseOffset} is not a non-negative safe integer`);
  if (!isCompressionType(compression)) throw invalid(`unknown compression type ${compression}`);
  const now = opts.now ?? Date.now();
  const producerId = opts.producerId ?? NO_PRODUCER_ID;
  const producerEpoch = opts.producerEpoch ?? NO_PRODUCER_EPOCH;
  const baseSequence = opts.baseSequence ?? NO_SEQUENCE;
  const partitionLeaderEpoch = opts.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH;
  if (!Number.isSafeInteger(now)) throw invalid(`now ${now} is not a safe integer`);
  if (!Number.isSafeInteger(producerId)) throw invalid(`producerId ${producerId} is not a safe integer`);
  checkInt(producerEpoch, 16, 'producerEpoch');
  checkInt(baseSequence, 32, 'baseSequence');
  checkInt(partitionLeaderEpoch, 32, 'partitionLeaderEpoch');

  let baseTimestamp = Infinity;
  let maxTimestamp = -Infinity;
  for (let i = 0; i < n; i++) {
    const ts = records[i]!.timestamp ?? now;
    if (!Number.isSafeInteger(ts)) throw invalid(`record ${i} timestamp ${ts} is not a safe integer`);
    if (ts < baseTimestamp) baseTimestamp = ts;
    if (ts > maxTimestamp) maxTimestamp = ts;
  }

  if (bodySizes.length < n) bodySizes = new Int32Array(Math.max(n, bodySizes.length * 2));
  let recordsSize = 0;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    const body = sizeOfRecordBody(r, (r.timestamp ?? now) - baseTimestamp, i);
    bodySizes[i] = body;
    recordsSize += sizeOfVarint(body) + body;
  }

  let batch: Buffer;
  if (compression === CompressionType.None) {
    batch = Buffer.allocUnsafe(RECORDS_OFFSET + recordsSize);
    writeAllRecords(batch, RECORDS_OFFSET, records, now, baseTimestamp);
  } else {
    if (scratch.length < recordsSize) scratch = Buffer.allocUnsafe(Math.max(recordsSize, scratch.length * 2));
    writeAllRecords(scratch, 0, records, now, baseTimestamp);
    const compressed = compress(compression, scratch.subarray(0, recordsSize));
    batch = Buffer.allocUnsafe(RECORDS_OFFSET + compressed.length);
    compressed.copy(batch, RECORDS_OFFSET);
  }

  writeInt64(batch, BASE_OFFSET_OFFSET, baseOffset);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  batch.writeInt32BE(partitionLeaderEpoch, PARTITION_LEADER_EPOCH_OFFSET);
  batch.writeInt8(MAGIC_V2, MAGIC_OFFSET);
  batch.writeInt16BE(compression | (timestampType === 1 ? TIMESTAMP_TYPE_MASK : 0) | (opts.transactional === true ? TRANSACTIONAL_MASK : 0), ATTRIBUTES_OFFSET);
  batch.writeInt32BE(n - 1, LAST_OFFSET_DELTA_OFFSET);
  writeInt64(batch, BASE_TIMESTAMP_OFFSET, baseTimestamp);
  // LogAppendTime: the broker's clock replaces maxTimestamp (Java's LogValidator does the same).
  writeInt64(batch, MAX_TIMESTAMP_OFFSET, timestampType === 1 ? now : maxTimestamp);
  writeInt64(batch, PRODUCER_ID_OFFSET, producerId);
  batch.writeInt16BE(producerEpoch, PRODUCER_EPOCH_OFFSET);
  batch.writeInt32BE(baseSequence, BASE_SEQUENCE_OFFSET);
  batch.writeInt32BE(n, RECORDS_COUNT_OFFSET);
  batch.writeUInt32BE(crc32c(batch, ATTRIBUTES_OFFSET, batch.length), CRC_OFFSET);
  return batch;
}

function writeAllRecords(buf: Buffer, pos: number, records: RecordInput[], now: number, baseTimestamp: number): void {
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    pos = writeRecord(buf, pos, r, bodySizes[i]!, (r.timestamp ?? now) - baseTimestamp, i);
  }
}

function checkInt(value: number, bits: 16 | 32, field: string): void {
  const limit = 2 ** (bits - 1);
  if (!Number.isInteger(value) || value < -limit || value >= limit) throw invalid(`${field} ${value} is not an int${bits}`);
}

function checkRange(buf: Buffer, offset: number): void {
  if (!Number.isInteger(offset) || offset < 0 || buf.length - offset < RECORD_BATCH_OVERHEAD) {
    throw invalid(`no batch header at offset ${offset} of a ${buf.length}-byte buffer`);
  }
}

/** Overwrite baseOffset in place (outside the CRC, so the batch stays valid). */
export function setBaseOffset(buf: Buffer, baseOffset: number, offset = 0): void {
  checkRange(buf, offset);
  if (!Number.isSafeInteger(baseOffset)) throw invalid(`baseOffset ${baseOffset} is not a safe integer`);
  writeInt64(buf, offset + BASE_OFFSET_OFFSET, baseOffset);
}

/** Overwrite partitionLeaderEpoch in place (outside the CRC, so the batch stays valid). */
export function setPartitionLeaderEpoch(buf: Buffer, epoch: number, offset = 0): void {
  checkRange(buf, offset);
  checkInt(epoch, 32, 'partitionLeaderEpoch');
  buf.writeInt32BE(epoch, offset + PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * Split a record set (a Produce partition's `records`, or a Fetch response's) into views of
 * each whole batch. Only batch framing and magic are checked; use readBatchHeader or
 * decodeRecordBatch on each for the rest. A truncated tail throws CORRUPT_MESSAGE.
 */
export function splitRecordSet(buf: Buffer): Buffer[] {
  const batches: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf.length - pos < RECORD_BATCH_OVERHEAD) throw corrupt(`truncated batch at byte ${pos} (${buf.length - pos} bytes left)`);
    const sizeInBytes = LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    if (sizeInBytes < RECORD_BATCH_OVERHEAD) throw corrupt(`batchLength at byte ${pos} is smaller than a header`);
    if (sizeInBytes > buf.length - pos) throw corrupt(`truncated batch at byte ${pos}: needs ${sizeInBytes}, ${buf.length - pos} left`);
    const magic = buf.readInt8(pos + MAGIC_OFFSET);
    if (magic !== MAGIC_V2) throw corrupt(`unsupported magic ${magic} at byte ${pos}`, { magic });
    batches.push(buf.subarray(pos, pos + sizeInBytes));
    pos += sizeInBytes;
  }
  return batches;
}
