/**
 * Builds one outgoing RecordBatch v2 record by record. Each record is written out as it comes
 * (its key and value are views into a stored batch that the caller does not keep), the records
 * section is compressed when the batch is sealed, and the producer fields (id, epoch, base
 * sequence, KIP-98) and the CRC are stamped when it is first sent in a producer session.
 *
 * The first record's timestamp is the batch's base timestamp and later deltas may be negative,
 * as Java's MemoryRecordsBuilder writes them (mirrored records keep their own timestamps, which
 * need not ascend).
 */
import { compress, CompressionType } from '../../../src/kafka/protocol/compression.js';
import { crc32c } from '../../../src/kafka/protocol/crc32c.js';
import {
  ATTRIBUTES_OFFSET, BASE_OFFSET_OFFSET, BASE_SEQUENCE_OFFSET, BASE_TIMESTAMP_OFFSET, BATCH_LENGTH_OFFSET, CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET, MAGIC_V2, MAX_TIMESTAMP_OFFSET, PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET, PRODUCER_ID_OFFSET, RECORDS_COUNT_OFFSET, RECORDS_OFFSET,
} from '../../../src/kafka/protocol/record-batch.js';
import { headerKeyOf, sizeOfNullableBytes, sizeOfRecordBody, writeNullableBytes, writeRecord, type DecodedRecord } from '../../../src/kafka/protocol/records.js';
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from '../../../src/kafka/protocol/varint.js';
import type { OriginBytes } from '../origin.js';
import type { StoredRecords } from '../stored-records.js';

/** A batch sealed for sending: header fields known except the producer's, records compressed. */
export interface SealedBatch {
  /** The whole batch; producer id, epoch, base sequence and CRC are written by `stampBatch`. */
  readonly bytes: Buffer;
  readonly count: number;
  /** Record bytes before encoding (key + value + headers), what the mirror's window counts. */
  readonly recordBytes: number;
}

export class BatchBuilder {
  private buf: Buffer;
  private pos = 0;
  count = 0;
  recordBytes = 0;
  private baseTimestamp = 0;
  private maxTimestamp = 0;

  /** `buf`: where records are written (grown when full); a sealed builder's `buffer` may be handed to the next. */
  constructor(buf: Buffer) {
    this.buf = buf;
  }

  /** The encoding buffer: free for another builder once this one is sealed (seal copies out of it). */
  get buffer(): Buffer {
    return this.buf;
  }

  /** Encoded bytes so far (before compression). */
  get size(): number {
    return this.pos;
  }

  /** Appends a record with its own headers, then `origin`'s (the last one ending in `offset`). */
  append(record: OutRecord, recordBytes: number, origin: OriginBytes | undefined, offset: number): void {
    if (this.count === 0) {
      this.baseTimestamp = record.timestamp;
      this.maxTimestamp = record.timestamp;
    } else if (record.timestamp > this.maxTimestamp) this.maxTimestamp = record.timestamp;
    const delta = record.timestamp - this.baseTimestamp;
    const body = origin === undefined ? sizeOfRecordBody(record, delta, this.count) : sizeWithOrigin(record, delta, this.count, origin, offset);
    const need = sizeOfVarint(body) + body;
    if (this.buf.length - this.pos < need) this.grow(need);
    this.pos = origin === undefined ? writeRecord(this.buf, this.pos, record, body, delta, this.count) : this.writeWithOrigin(record, body, delta, origin, offset);
    this.count++;
    this.recordBytes += recordBytes;
  }

  /**
   * Appends the stored record `r` is at: its key and value and its own headers copied as the
   * byte spans they are in the stored batch, then `origin`'s headers. Only the timestamp delta,
   * the offset delta and the header count are written anew.
   */
  appendStored(r: StoredRecords, origin: OriginBytes | undefined): void {
    if (this.count === 0) {
      this.baseTimestamp = r.timestamp;
      this.maxTimestamp = r.timestamp;
    } else if (r.timestamp > this.maxTimestamp) this.maxTimestamp = r.timestamp;
    const delta = r.timestamp - this.baseTimestamp;
    const headerCount = r.headerCount + (origin === undefined ? 0 : origin.fixed.length + 1);
    const kv = r.valueEnd - r.keyAt;
    const own = r.headersEnd - r.headersAt;
    const digits = decimalDigits(r.offset);
    const body = 1 + sizeOfVarlong(delta) + sizeOfVarint(this.count) + kv + sizeOfVarint(headerCount) + own + (origin === undefined ? 0 : originSize(origin, digits));
    const need = sizeOfVarint(body) + body;
    if (this.buf.length - this.pos < need) this.grow(need);
    const buf = this.buf;
    let pos = writeVarint(buf, this.pos, body);
    buf[pos++] = 0; // attributes
    pos = writeVarlong(buf, pos, delta);
    pos = writeVarint(buf, pos, this.count);
    pos += r.copySpan(r.keyAt, r.valueEnd, buf, pos);
    pos = writeVarint(buf, pos, headerCount);
    pos += r.copySpan(r.headersAt, r.headersEnd, buf, pos);
    this.pos = origin === undefined ? pos : writeOrigin(buf, pos, origin, r.offset, digits);
    this.count++;
    this.recordBytes += r.bytes;
  }

  /** A record (Kafka's DefaultRecord layout, records.ts) whose header list ends with the origin's. */
  private writeWithOrigin(record: OutRecord, body: number, delta: number, origin: OriginBytes, offset: number): number {
    const buf = this.buf;
    let pos = writeVarint(buf, this.pos, body);
    buf[pos++] = 0; // attributes
    pos = writeVarlong(buf, pos, delta);
    pos = writeVarint(buf, pos, this.count);
    pos = writeNullableBytes(buf, pos, record.key);
    pos = writeNullableBytes(buf, pos, record.value);
    pos = writeVarint(buf, pos, record.headers.length + origin.fixed.length + 1);
    for (const h of record.headers) {
      pos = writeNullableBytes(buf, pos, headerKeyOf(h.key));
      pos = writeNullableBytes(buf, pos, h.value);
    }
    return writeOrigin(buf, pos, origin, offset, decimalDigits(offset));
  }

  private grow(need: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + need));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** The batch with its records compressed; the builder is spent. */
  seal(compression: CompressionType): SealedBatch {
    const records = this.buf.subarray(0, this.pos);
    const body = compression === CompressionType.None ? records : compress(compression, records);
    const bytes = Buffer.allocUnsafe(RECORDS_OFFSET + body.length);
    body.copy(bytes, RECORDS_OFFSET);
    writeInt64(bytes, BASE_OFFSET_OFFSET, 0);
    bytes.writeInt32BE(bytes.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
    bytes.writeInt32BE(-1, PARTITION_LEADER_EPOCH_OFFSET);
    bytes.writeInt8(MAGIC_V2, MAGIC_OFFSET);
    bytes.writeInt16BE(compression, ATTRIBUTES_OFFSET); // CreateTime, not transactional, not control
    bytes.writeInt32BE(this.count - 1, LAST_OFFSET_DELTA_OFFSET);
    writeInt64(bytes, BASE_TIMESTAMP_OFFSET, this.baseTimestamp);
    writeInt64(bytes, MAX_TIMESTAMP_OFFSET, this.maxTimestamp);
    bytes.writeInt32BE(this.count, RECORDS_COUNT_OFFSET);
    return { bytes, count: this.count, recordBytes: this.recordBytes };
  }
}

/** Writes the idempotent producer's fields (KIP-98) and the CRC that covers them. */
export function stampBatch(batch: SealedBatch, producerId: number, producerEpoch: number, baseSequence: number): void {
  const b = batch.bytes;
  writeInt64(b, PRODUCER_ID_OFFSET, producerId);
  b.writeInt16BE(producerEpoch, PRODUCER_EPOCH_OFFSET);
  b.writeInt32BE(baseSequence, BASE_SEQUENCE_OFFSET);
  b.writeUInt32BE(crc32c(b, ATTRIBUTES_OFFSET, b.length), CRC_OFFSET);
}

/** A record to send: a stored record's key, value, timestamp and own headers. */
export type OutRecord = Pick<DecodedRecord, 'key' | 'value' | 'timestamp' | 'headers'>;

function decimalDigits(n: number): number {
  let digits = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    digits++;
  }
  return digits;
}

/** sizeOfRecordBody for a record whose header list ends with the origin's. */
function sizeWithOrigin(record: OutRecord, delta: number, offsetDelta: number, origin: OriginBytes, offset: number): number {
  const own = record.headers.length;
  const total = own + origin.fixed.length + 1;
  return sizeOfRecordBody(record, delta, offsetDelta) - sizeOfVarint(own) + sizeOfVarint(total) + originSize(origin, decimalDigits(offset));
}

/** The bytes the origin's headers take in a record whose offset has `digits` decimal digits. */
function originSize(origin: OriginBytes, digits: number): number {
  let size = 0;
  for (const h of origin.fixed) size += sizeOfNullableBytes(h.key) + sizeOfNullableBytes(h.value);
  const last = origin.lastPrefix.length + digits;
  return size + sizeOfNullableBytes(origin.lastKey) + sizeOfVarint(last) + last;
}

/** Writes the origin's headers at `pos` (the last one's value ends in `offset`, `digits` long in decimal); returns the end. */
function writeOrigin(buf: Buffer, pos: number, origin: OriginBytes, offset: number, digits: number): number {
  for (const h of origin.fixed) {
    pos = writeNullableBytes(buf, pos, h.key);
    pos = writeNullableBytes(buf, pos, h.value);
  }
  pos = writeNullableBytes(buf, pos, origin.lastKey);
  pos = writeVarint(buf, pos, origin.lastPrefix.length + digits);
  pos += origin.lastPrefix.copy(buf, pos);
  let n = offset;
  for (let i = digits - 1; i >= 0; i--) {
    buf[pos + i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return pos + digits;
}

function writeInt64(buf: Buffer, pos: number, value: number): void {
  const high = Math.floor(value / 2 ** 32);
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(value - high * 2 ** 32, pos + 4);
}
