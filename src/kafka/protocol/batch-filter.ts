/**
 * Removing records from a stored RecordBatch v2 without renumbering the rest: what log compaction
 * does to a batch (Kafka's `MemoryRecords.filterTo`).
 *
 * A kept record is copied byte for byte: its offsetDelta and timestampDelta stay relative to the
 * batch's baseOffset and baseTimestamp, which do not change, so its offset and timestamp do not
 * either. The batch keeps its baseOffset and lastOffsetDelta (the offsets it spans, now with
 * gaps; a consumer continues past them), its producer id, epoch and base sequence (an idempotent
 * producer's sequence check needs the last batch's span, KIP-98), its maxTimestamp (retention by
 * time stays as it was) and its compression; the record count, the length and the CRC are
 * rewritten.
 */
import { WeirError } from '../../errors.js';
import { CompressionType, compress, decompress, DEFAULT_MAX_DECOMPRESSED_BYTES } from './compression.js';
import { crc32c } from './crc32c.js';
import {
  ATTRIBUTES_OFFSET, BATCH_LENGTH_OFFSET, COMPRESSION_MASK, CRC_OFFSET, LOG_OVERHEAD, RECORDS_COUNT_OFFSET, RECORDS_OFFSET, readBatchHeader,
  type BatchHeader,
} from './record-batch.js';
import { readVarint, readVarlong, type Cursor } from './varint.js';

/** What the filter is asked about each record; the key is a view into the batch. */
export interface FilteredRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  /** A null value: a tombstone on a compacted topic. */
  tombstone: boolean;
}

export interface FilterResult {
  /**
   * The batch to store: the same buffer when every record was kept, a rebuilt one when some were,
   * and when none were, an empty batch (no records, same span) if `keepEmpty`, else null.
   */
  batch: Buffer | null;
  header: BatchHeader;
  kept: number;
  removed: number;
}

/**
 * Filter the records of the batch at the start of `batch`. Control batches (transaction markers)
 * are returned unchanged without asking.
 */
export function filterBatch(batch: Buffer, keep: (record: FilteredRecord) => boolean, keepEmpty = false): FilterResult {
  const header = readBatchHeader(batch, 0);
  if (header.isControl) return { batch, header, kept: header.recordCount, removed: 0 };
  const compressed = header.compression !== CompressionType.None;
  const records = compressed
    ? decompress(header.compression, batch.subarray(RECORDS_OFFSET, header.sizeInBytes), DEFAULT_MAX_DECOMPRESSED_BYTES)
    : batch.subarray(RECORDS_OFFSET, header.sizeInBytes);

  const keptSpans: number[] = [];
  const record: FilteredRecord = { offset: 0, timestamp: 0, key: null, tombstone: false };
  const cur: Cursor = { pos: 0 };
  let kept = 0;
  for (let i = 0; i < header.recordCount; i++) {
    const start = cur.pos;
    const end = readRecordForFilter(records, cur, header, record);
    if (keep(record)) {
      kept++;
      // Adjacent kept records are copied as one span.
      if (keptSpans.length > 0 && keptSpans[keptSpans.length - 1] === start) keptSpans[keptSpans.length - 1] = end;
      else keptSpans.push(start, end);
    }
    cur.pos = end;
  }
  if (cur.pos !== records.length) throw corrupt(`${records.length - cur.pos} bytes left after ${header.recordCount} records`);
  const removed = header.recordCount - kept;
  if (removed === 0) return { batch, header, kept, removed };
  if (kept === 0 && !keepEmpty) return { batch: null, header, kept, removed };

  let body: Buffer = Buffer.allocUnsafe(spansLength(keptSpans));
  for (let i = 0, at = 0; i < keptSpans.length; i += 2) at += records.copy(body, at, keptSpans[i], keptSpans[i + 1]);
  if (compressed && kept > 0) body = compress(header.compression, body);
  return { batch: rebuild(batch, body, kept, header.attributes), header, kept, removed };
}

/** Reads one record's offset, timestamp, key and whether its value is null; returns its end. */
function readRecordForFilter(buf: Buffer, cur: Cursor, header: BatchHeader, into: FilteredRecord): number {
  const length = readVarint(buf, cur);
  if (length < 0 || length > buf.length - cur.pos) throw corrupt(`record length ${length} out of range`);
  const end = cur.pos + length;
  cur.pos++; // attributes
  const timestampDelta = readVarlong(buf, cur, end);
  const offsetDelta = readVarint(buf, cur, end);
  const keyLength = readVarint(buf, cur, end);
  let key: Buffer | null = null;
  if (keyLength >= 0) {
    if (keyLength > end - cur.pos) throw corrupt(`key length ${keyLength} out of range`);
    key = buf.subarray(cur.pos, cur.pos + keyLength);
    cur.pos += keyLength;
  }
  const valueLength = readVarint(buf, cur, end);
  into.offset = header.baseOffset + offsetDelta;
  // DefaultRecordBatch: with LogAppendTime every record carries the batch's maxTimestamp.
  into.timestamp = header.timestampType === 1 ? header.maxTimestamp : header.baseTimestamp + timestampDelta;
  into.key = key;
  into.tombstone = valueLength === -1;
  return end;
}

/**
 * The header of `original` (span, producer, timestamps, compression) over a new body. An empty
 * batch is written uncompressed, as Java's `DefaultRecordBatch.writeEmptyHeader` does: there is
 * nothing to decompress.
 */
function rebuild(original: Buffer, body: Buffer, count: number, attributes: number): Buffer {
  const out = Buffer.allocUnsafe(RECORDS_OFFSET + body.length);
  original.copy(out, 0, 0, RECORDS_OFFSET);
  body.copy(out, RECORDS_OFFSET);
  if (count === 0) out.writeInt16BE(attributes & ~COMPRESSION_MASK, ATTRIBUTES_OFFSET);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  out.writeInt32BE(count, RECORDS_COUNT_OFFSET);
  out.writeUInt32BE(crc32c(out, ATTRIBUTES_OFFSET, out.length), CRC_OFFSET);
  return out;
}

function spansLength(spans: number[]): number {
  let n = 0;
  for (let i = 0; i < spans.length; i += 2) n += spans[i + 1]! - spans[i]!;
  return n;
}

function corrupt(message: string): WeirError {
  return new WeirError('CORRUPT_MESSAGE', `record batch: ${message}`);
}
