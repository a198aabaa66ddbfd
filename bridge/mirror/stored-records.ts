/**
 * One stored batch's records, walked in place: the pumps read a record's offset, timestamp and
 * size, and Weir's producer copies its key, value and headers into the outgoing batch as the byte
 * spans they are (wire/batch-builder.ts), with no object made per record. librdkafka's sink asks
 * for the record as an object (`decoded()`).
 *
 * The batch's CRC is checked and its records decompressed once, on open; every length is checked
 * against the record's own length as `readRecords` does (records.ts), so a damaged batch throws
 * CORRUPT_MESSAGE instead of reading past its record.
 */
import { WeirError } from '../../src/errors.js';
import { CompressionType, DEFAULT_MAX_DECOMPRESSED_BYTES, decompress } from '../../src/kafka/protocol/compression.js';
import { crc32c } from '../../src/kafka/protocol/crc32c.js';
import { ATTRIBUTES_OFFSET, batchEnd, readBatchHeader, RECORDS_OFFSET, type BatchHeader, type DecodedRecord } from '../../src/kafka/protocol/record-batch.js';
import { readRecord, type RecordContext } from '../../src/kafka/protocol/records.js';
import { readVarint, readVarlong, type Cursor } from '../../src/kafka/protocol/varint.js';

export class StoredRecords {
  /** The offsets the batch spans, [base, end): compaction may thin it out, never shorten it. */
  readonly base: number;
  readonly end: number;
  private readonly data: Buffer;
  private readonly start: number;
  private readonly stop: number;
  private readonly count: number;
  private readonly context: RecordContext;
  private readonly cur: Cursor = { pos: 0 };
  private index = 0;
  private recordStart = 0;

  // The current record, after next() returned true.
  offset = 0;
  timestamp = 0;
  /** Position of the key's length varint: key and value, with their lengths, run to `valueEnd`. */
  keyAt = 0;
  valueEnd = 0;
  /** The key's bytes, [keyStart, keyStart + keyLength); keyLength -1 for a null key. */
  keyStart = 0;
  keyLength = -1;
  headerCount = 0;
  /** The headers as stored (each: key length, key, value length, value), to the record's end. */
  headersAt = 0;
  headersEnd = 0;
  /** Key, value and header keys and values, in bytes: what the mirror's window counts. */
  bytes = 0;

  constructor(batch: Buffer, header: BatchHeader = readBatchHeader(batch)) {
    const crc = crc32c(batch, ATTRIBUTES_OFFSET, header.sizeInBytes);
    if (crc !== header.crc) throw corrupt(`CRC mismatch: stored ${header.crc}, computed ${crc}`);
    this.base = header.baseOffset;
    this.end = batchEnd(header);
    this.count = header.recordCount;
    this.data = batch;
    this.start = RECORDS_OFFSET;
    this.stop = header.sizeInBytes;
    if (header.compression !== CompressionType.None) {
      this.data = decompress(header.compression, batch.subarray(RECORDS_OFFSET, header.sizeInBytes), DEFAULT_MAX_DECOMPRESSED_BYTES);
      this.start = 0;
      this.stop = this.data.length;
    }
    // DefaultRecordBatch: with LogAppendTime every record carries the batch's maxTimestamp.
    this.context = { baseOffset: header.baseOffset, baseTimestamp: header.baseTimestamp, logAppendTime: header.timestampType === 1 ? header.maxTimestamp : null };
    this.rewind();
  }

  /** Back to before the first record. */
  rewind(): void {
    this.cur.pos = this.start;
    this.index = 0;
  }

  /** Moves to the next record; false past the last. */
  next(): boolean {
    if (this.index >= this.count) return false;
    const buf = this.data;
    const cur = this.cur;
    const at = (this.recordStart = cur.pos);
    const bodySize = readVarint(buf, cur, this.stop);
    if (bodySize < 6 || bodySize > this.stop - cur.pos) throw corrupt(`record length ${bodySize} out of range at byte ${at}`);
    const end = cur.pos + bodySize;
    cur.pos++; // attributes (unused)
    const timestampDelta = readVarlong(buf, cur, end);
    const offsetDelta = readVarint(buf, cur, end);
    this.keyAt = cur.pos;
    this.keyLength = this.skipBytes(end, 'key');
    this.keyStart = cur.pos - Math.max(0, this.keyLength);
    const valueLength = this.skipBytes(end, 'value');
    this.valueEnd = cur.pos;
    let bytes = Math.max(0, this.keyLength) + Math.max(0, valueLength);
    const headerCount = readVarint(buf, cur, end);
    if (headerCount < 0 || headerCount * 2 > end - cur.pos) throw corrupt(`header count ${headerCount} out of range at byte ${at}`);
    this.headersAt = cur.pos;
    for (let h = 0; h < headerCount; h++) {
      const keyLength = this.skipBytes(end, 'header key');
      if (keyLength < 0) throw corrupt(`null header key at byte ${at}`);
      bytes += keyLength + Math.max(0, this.skipBytes(end, 'header value'));
    }
    if (cur.pos !== end) throw corrupt(`record fields end at ${cur.pos}, its length says ${end}`);
    this.headersEnd = end;
    this.headerCount = headerCount;
    this.bytes = bytes;
    this.offset = this.context.baseOffset + offsetDelta;
    this.timestamp = this.context.logAppendTime ?? this.context.baseTimestamp + timestampDelta;
    this.index++;
    return true;
  }

  /** The current record's key (a view), or null. */
  key(): Buffer | null {
    return this.keyLength < 0 ? null : this.data.subarray(this.keyStart, this.keyStart + this.keyLength);
  }

  /** The current record as an object (its key, value and header values are views into the batch). */
  decoded(): DecodedRecord {
    return readRecord(this.data, { pos: this.recordStart }, this.stop, this.context);
  }

  /** Copies the stored bytes [from, to) of the current record into `target` at `at`; returns the count (no view made). */
  copySpan(from: number, to: number, target: Buffer, at: number): number {
    const n = to - from;
    // Buffer.copy makes a typed-array view a call: a record's few dozen bytes go faster by hand.
    if (n >= 64) return this.data.copy(target, at, from, to);
    const data = this.data;
    for (let i = 0; i < n; i++) target[at + i] = data[from + i]!;
    return n;
  }

  /** Skips a length-prefixed field; its length (-1 for null). */
  private skipBytes(end: number, what: string): number {
    const at = this.cur.pos;
    const length = readVarint(this.data, this.cur, end);
    if (length < -1 || length > end - this.cur.pos) throw corrupt(`${what} length ${length} out of range at byte ${at}`);
    if (length > 0) this.cur.pos += length;
    return length;
  }
}

function corrupt(message: string): WeirError {
  return new WeirError('CORRUPT_MESSAGE', `stored record batch: ${message}`);
}
