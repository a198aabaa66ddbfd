/**
 * The records inside a RecordBatch v2 (KIP-98; Kafka's `DefaultRecord`):
 *
 *   Record =>
 *     length:          varint   (size of everything after this field)
 *     attributes:      int8     (unused, always 0)
 *     timestampDelta:  varlong  (timestamp - batch baseTimestamp)
 *     offsetDelta:     varint   (offset - batch baseOffset)
 *     keyLength:       varint   (-1 = null key)
 *     key:             byte[keyLength]
 *     valueLength:     varint   (-1 = null value)
 *     value:           byte[valueLength]
 *     headersCount:    varint
 *     headers:         [headerKeyLength varint, headerKey utf8, headerValueLength varint (-1 = null), headerValue]
 *
 * Encoding is split in two passes (sizes, then writes) so a batch is written into a single
 * allocation. Decoding bounds every length against the bytes that remain, so hostile input
 * throws CORRUPT_MESSAGE instead of reading out of range or allocating a huge array.
 */

import { WeirError } from '../../errors.js';
import {
  readVarint, readVarlong, sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong, type Cursor,
} from './varint.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface RecordInput {
  key: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeader[];
  /** Milliseconds since the epoch; defaults to the batch's `now`. */
  timestamp?: number;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  /** A view into the batch (or its decompressed records): copy it to keep it past the batch. */
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** Smallest possible record: seven one-byte fields (length .. headersCount). */
export const MIN_RECORD_SIZE = 7;
/** Smallest possible header: key length 0 and value length -1, one byte each. */
const MIN_HEADER_SIZE = 2;

/**
 * UTF-8 bytes of header keys. Store-built records (MQTT ingest) carry the same few keys in every
 * record (`mqtt.topic`, `mqtt.qos`, …): encoding each from its string on every record is two
 * native calls per header. Bounded in entries and length, emptied when full.
 */
const HEADER_KEY_CACHE_MAX = 256;
const HEADER_KEY_CACHED_MAX_LENGTH = 64;
const headerKeyBytes = new Map<string, Buffer>();

/** The UTF-8 length of a header key, from the same cache. */
export function headerKeyLength(key: string): number {
  return headerKeyOf(key).length;
}

/** A header key's UTF-8 bytes, cached (see above). */
export function headerKeyOf(key: string): Buffer {
  let bytes = headerKeyBytes.get(key);
  if (bytes === undefined) {
    bytes = Buffer.from(key, 'utf8');
    if (key.length <= HEADER_KEY_CACHED_MAX_LENGTH) {
      if (headerKeyBytes.size >= HEADER_KEY_CACHE_MAX) headerKeyBytes.clear();
      headerKeyBytes.set(key, bytes);
    }
  }
  return bytes;
}

export function sizeOfNullableBytes(b: Uint8Array | null): number {
  return b === null ? 1 : sizeOfVarint(b.length) + b.length;
}

/** Size of a record after its length prefix. */
export function sizeOfRecordBody(record: RecordInput, timestampDelta: number, offsetDelta: number): number {
  let size =
    1 + sizeOfVarlong(timestampDelta) + sizeOfVarint(offsetDelta) + sizeOfNullableBytes(record.key) + sizeOfNullableBytes(record.value);
  const headers = record.headers;
  if (headers === undefined) return size + 1;
  size += sizeOfVarint(headers.length);
  for (const h of headers) size += sizeOfNullableBytes(headerKeyOf(h.key)) + sizeOfNullableBytes(h.value);
  return size;
}

export function writeNullableBytes(buf: Buffer, pos: number, b: Uint8Array | null): number {
  if (b === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, b.length);
  if (b.length < 16) {
    for (let i = 0; i < b.length; i++) buf[pos + i] = b[i]!;
  } else {
    buf.set(b, pos);
  }
  return pos + b.length;
}

/** Write one record (length prefix included) at `pos`; returns the position after it. */
export function writeRecord(
  buf: Buffer, pos: number, record: RecordInput, bodySize: number, timestampDelta: number, offsetDelta: number,
): number {
  pos = writeVarint(buf, pos, bodySize);
  buf[pos++] = 0; // attributes: none defined for records
  pos = writeVarlong(buf, pos, timestampDelta);
  pos = writeVarint(buf, pos, offsetDelta);
  pos = writeNullableBytes(buf, pos, record.key);
  pos = writeNullableBytes(buf, pos, record.value);
  const headers = record.headers;
  if (headers === undefined) {
    buf[pos++] = 0; // zigzag(0)
    return pos;
  }
  pos = writeVarint(buf, pos, headers.length);
  for (const h of headers) {
    pos = writeNullableBytes(buf, pos, headerKeyOf(h.key)); // a key is never null: same bytes as varint length + key
    pos = writeNullableBytes(buf, pos, h.value);
  }
  return pos;
}

function corrupt(message: string, at: number): WeirError {
  return new WeirError('CORRUPT_MESSAGE', `record: ${message} at byte ${at}`);
}

/** Context the batch header gives each record. */
export interface RecordContext {
  baseOffset: number;
  baseTimestamp: number;
  /** When set (LogAppendTime batches), every record's timestamp is this, as Java's reader does. */
  logAppendTime: number | null;
}

/**
 * Decode exactly `count` records filling `buf[start, end)` completely, as Java's
 * `DefaultRecordBatch` requires (a record's length must match its fields; no bytes may remain).
 */
export function readRecords(buf: Buffer, start: number, end: number, count: number, ctx: RecordContext): DecodedRecord[] {
  if (count < 0 || count * MIN_RECORD_SIZE > end - start) {
    throw corrupt(`record count ${count} cannot fit in ${end - start} bytes`, start);
  }
  const records = new Array<DecodedRecord>(count);
  const cur: Cursor = { pos: start };
  for (let i = 0; i < count; i++) records[i] = readRecord(buf, cur, end, ctx);
  if (cur.pos !== end) throw corrupt(`${end - cur.pos} bytes left after ${count} records`, cur.pos);
  return records;
}

/**
 * Check that exactly `count` records fill `buf[start, end)`, record i carrying offsetDelta i, with
 * every length, count and varint inside its record: readRecords' checks without building the
 * records (a produce-time check that allocates nothing per record). `onKeyless`, when given, is
 * told the index of each record whose key is null (a compacted topic refuses them).
 */
export function checkRecords(buf: Buffer, start: number, end: number, count: number, onKeyless?: (index: number) => void): void {
  if (count < 0 || count * MIN_RECORD_SIZE > end - start) {
    throw corrupt(`record count ${count} cannot fit in ${end - start} bytes`, start);
  }
  const cur: Cursor = { pos: start };
  for (let i = 0; i < count; i++) {
    const at = cur.pos;
    const bodySize = readVarint(buf, cur, end);
    if (bodySize < MIN_RECORD_SIZE - 1 || bodySize > end - cur.pos) throw corrupt(`length ${bodySize} out of range`, at);
    const recordEnd = cur.pos + bodySize;
    cur.pos++; // attributes
    readVarlong(buf, cur, recordEnd);
    const offsetDelta = readVarint(buf, cur, recordEnd);
    if (offsetDelta !== i) throw corrupt(`record ${i} has offsetDelta ${offsetDelta}`, at);
    if (skipNullableBytes(buf, cur, recordEnd, 'key') && onKeyless !== undefined) onKeyless(i);
    skipNullableBytes(buf, cur, recordEnd, 'value');
    const headerCount = readVarint(buf, cur, recordEnd);
    if (headerCount < 0 || headerCount * MIN_HEADER_SIZE > recordEnd - cur.pos) throw corrupt(`header count ${headerCount} out of range`, at);
    for (let h = 0; h < headerCount; h++) {
      const keyAt = cur.pos;
      const keyLen = readVarint(buf, cur, recordEnd);
      if (keyLen < 0 || keyLen > recordEnd - cur.pos) throw corrupt(`header key length ${keyLen} out of range`, keyAt);
      cur.pos += keyLen;
      skipNullableBytes(buf, cur, recordEnd, 'header value');
    }
    if (cur.pos !== recordEnd) throw corrupt(`fields end at ${cur.pos}, length says ${recordEnd}`, at);
  }
  if (cur.pos !== end) throw corrupt(`${end - cur.pos} bytes left after ${count} records`, cur.pos);
}

/** Skips a nullable bytes field; whether it was null. */
function skipNullableBytes(buf: Buffer, cur: Cursor, end: number, what: string): boolean {
  const at = cur.pos;
  const len = readVarint(buf, cur, end);
  if (len === -1) return true;
  if (len < 0 || len > end - cur.pos) throw corrupt(`${what} length ${len} out of range`, at);
  cur.pos += len;
  return false;
}

function readNullableBytes(buf: Buffer, cur: Cursor, end: number, what: string): Buffer | null {
  const at = cur.pos;
  const len = readVarint(buf, cur, end);
  if (len === -1) return null;
  if (len < 0 || len > end - cur.pos) throw corrupt(`${what} length ${len} out of range`, at);
  const out = buf.subarray(cur.pos, cur.pos + len);
  cur.pos += len;
  return out;
}

/** One record at `cur.pos` (length prefix included), `cur` moved past it. */
export function readRecord(buf: Buffer, cur: Cursor, end: number, ctx: RecordContext): DecodedRecord {
  const at = cur.pos;
  const bodySize = readVarint(buf, cur, end);
  if (bodySize < MIN_RECORD_SIZE - 1 || bodySize > end - cur.pos) throw corrupt(`length ${bodySize} out of range`, at);
  const recordEnd = cur.pos + bodySize;
  cur.pos++; // attributes (unused)
  const timestampDelta = readVarlong(buf, cur, recordEnd);
  const offsetDelta = readVarint(buf, cur, recordEnd);
  const key = readNullableBytes(buf, cur, recordEnd, 'key');
  const value = readNullableBytes(buf, cur, recordEnd, 'value');
  const headerCount = readVarint(buf, cur, recordEnd);
  if (headerCount < 0 || headerCount * MIN_HEADER_SIZE > recordEnd - cur.pos) {
    throw corrupt(`header count ${headerCount} out of range`, at);
  }
  const headers = new Array<RecordHeader>(headerCount);
  for (let h = 0; h < headerCount; h++) {
    const keyAt = cur.pos;
    const keyLen = readVarint(buf, cur, recordEnd);
    // Java rejects null header keys ("Invalid negative header key size").
    if (keyLen < 0 || keyLen > recordEnd - cur.pos) throw corrupt(`header key length ${keyLen} out of range`, keyAt);
    const hkey = buf.toString('utf8', cur.pos, cur.pos + keyLen);
    cur.pos += keyLen;
    headers[h] = { key: hkey, value: readNullableBytes(buf, cur, recordEnd, 'header value') };
  }
  if (cur.pos !== recordEnd) throw corrupt(`fields end at ${cur.pos}, length says ${recordEnd}`, at);
  const timestamp = ctx.logAppendTime ?? ctx.baseTimestamp + timestampDelta;
  return { offset: ctx.baseOffset + offsetDelta, timestamp, key, value, headers };
}
