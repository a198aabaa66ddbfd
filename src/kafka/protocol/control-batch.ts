/**
 * Transaction markers (KIP-98): the control batch a transaction coordinator writes into every
 * partition of a transaction when it ends. Kafka's `EndTransactionMarker` / `ControlRecordType`:
 *
 *   one RecordBatch v2, attributes isControl | isTransactional, the producer's id and epoch,
 *   base sequence -1, exactly one record:
 *     key   => version:INT16 (0) type:INT16 (0 ABORT, 1 COMMIT)
 *     value => version:INT16 (0) coordinator_epoch:INT32
 *
 * Consumers never return control records to the application; read_committed consumers use the
 * ABORT markers, with the Fetch response's aborted_transactions, to drop aborted records.
 */
import {
  ATTRIBUTES_OFFSET, CONTROL_MASK, CRC_OFFSET, RECORDS_OFFSET, TRANSACTIONAL_MASK, encodeRecordBatch, readBatchHeader,
} from './record-batch.js';
import { crc32c } from './crc32c.js';
import { readVarint, readVarlong } from './varint.js';

export const CONTROL_TYPE_ABORT = 0;
export const CONTROL_TYPE_COMMIT = 1;

export interface TransactionMarkerInput {
  producerId: number;
  producerEpoch: number;
  /** true: COMMIT, false: ABORT. */
  commit: boolean;
  coordinatorEpoch: number;
  /** The marker record's timestamp (ms). */
  timestamp: number;
}

/** A transaction marker batch at base offset 0 (the store rewrites the offset when it appends). */
export function encodeTransactionMarker(m: TransactionMarkerInput): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(m.commit ? CONTROL_TYPE_COMMIT : CONTROL_TYPE_ABORT, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(m.coordinatorEpoch, 2);
  const batch = encodeRecordBatch({
    baseOffset: 0,
    records: [{ key, value, timestamp: m.timestamp }],
    producerId: m.producerId,
    producerEpoch: m.producerEpoch,
    now: m.timestamp,
  });
  // encodeRecordBatch writes data batches; set the control and transactional bits, then the CRC
  // that covers them again.
  batch.writeInt16BE(batch.readInt16BE(ATTRIBUTES_OFFSET) | CONTROL_MASK | TRANSACTIONAL_MASK, ATTRIBUTES_OFFSET);
  batch.writeUInt32BE(crc32c(batch, ATTRIBUTES_OFFSET, batch.length), CRC_OFFSET);
  return batch;
}

/**
 * The control record type of a control batch (CONTROL_TYPE_ABORT or CONTROL_TYPE_COMMIT), or
 * null when `batch` is not a control batch or its first record is not a marker. Control batches
 * are never compressed, so the key is read in place.
 */
export function controlRecordType(batch: Buffer): number | null {
  const header = readBatchHeader(batch);
  if (!header.isControl || header.recordCount < 1 || header.compression !== 0) return null;
  const cursor = { pos: RECORDS_OFFSET };
  readVarint(batch, cursor); // record length
  cursor.pos += 1; // attributes
  readVarlong(batch, cursor); // timestamp delta
  readVarint(batch, cursor); // offset delta
  const keyLength = readVarint(batch, cursor);
  if (keyLength < 4 || cursor.pos + keyLength > batch.length) return null;
  const type = batch.readInt16BE(cursor.pos + 2);
  return type === CONTROL_TYPE_ABORT || type === CONTROL_TYPE_COMMIT ? type : null;
}
