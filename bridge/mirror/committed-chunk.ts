/**
 * One chunk of a partition as a read_committed consumer sees it (KIP-98), for the exactly-once
 * sender: records from `from` up to the last stable offset, without markers or records of aborted
 * transactions, and the offset where the next chunk starts. What is left out (markers, aborted
 * ranges, compacted gaps) is passed over by `end` like the records, so a cursor written at `end`
 * never stops in front of it.
 */
import { batchEnd, decodeRecordBatch, readBatchHeader, type DecodedRecord } from '../../src/kafka/protocol/record-batch.js';
import type { RecordLog } from '../../src/store/types.js';
import { CommittedFilter } from './committed.js';

export interface CommittedChunk {
  readonly records: DecodedRecord[];
  /** Every offset from `from` below this was taken or holds nothing to send. */
  readonly end: number;
}


/** Reads up to `maxBytes` of stored batches at `from` and takes at most `maxRecords` records of them. */
export function readCommittedChunk(
  store: Pick<RecordLog, 'offsets' | 'read' | 'abortedTransactions'>,
  topic: string,
  partition: number,
  from: number,
  maxRecords: number,
  maxBytes: number,
): CommittedChunk {
  const { logStartOffset, lastStableOffset } = store.offsets(topic, partition);
  const start = Math.max(from, logStartOffset);
  if (start >= lastStableOffset || maxRecords <= 0) return { records: [], end: start };
  const read = store.read(topic, partition, start, maxBytes, 'read_committed');
  // Nothing stored below the last stable offset: the log ends in a removed range.
  if (read.batches.length === 0) return { records: [], end: Math.max(start, read.lastStableOffset) };
  const last = readBatchHeader(read.batches.at(-1)!);
  const filter = new CommittedFilter(store.abortedTransactions(topic, partition, start, batchEnd(last)));
  const records: DecodedRecord[] = [];
  let end = start;
  for (const batch of read.batches) {
    const header = readBatchHeader(batch);
    if (!filter.skips(header, batch)) {
      for (const r of decodeRecordBatch(batch).records) {
        if (r.offset < start) continue;
        if (records.length >= maxRecords) return { records, end: r.offset };
        records.push(r);
      }
    }
    end = Math.max(end, batchEnd(header));
  }
  return { records, end };
}
