/**
 * Each idempotent producer's last batch in a partition, which compaction keeps even when it
 * removes every record of it (then as an empty batch): Kafka's cleaner does so, because the
 * producer's sequence state is rebuilt from the log, and an idempotent producer's next batch must
 * follow the last one's sequence (KIP-98).
 *
 * Found on first need only (most batches never empty, and batches Weir builds itself carry no
 * producer id): the first question scans the batch headers from that batch to the high
 * watermark, and later questions, about later batches, are answered from it. Batches appended
 * after the scan only make an earlier one not the last; keeping it then costs an empty batch.
 */
import { PRODUCER_ID_OFFSET, readBatchHeader } from '../../kafka/protocol/record-batch.js';
import { logKey, offsetOfLogKey } from '../keys.js';
import type { LmdbEnv } from '../lmdb-env.js';

export class ProducerLastBatches {
  /** Producer id → base offset of its last batch. */
  private last: Map<number, number> | undefined;

  constructor(
    private readonly env: LmdbEnv,
    private readonly partitionId: number,
    private readonly highWatermark: number,
  ) {}

  /** Whether the batch at `baseOffset` is the last one of `producerId` (≥ 0) in the partition. */
  isLast(producerId: number, baseOffset: number): boolean {
    this.last ??= this.scan(baseOffset);
    return this.last.get(producerId) === baseOffset;
  }

  private scan(from: number): Map<number, number> {
    const last = new Map<number, number>();
    const range = { start: logKey(this.partitionId, from), end: logKey(this.partitionId, this.highWatermark) };
    for (const { key, value } of this.env.batches.getRange(range)) {
      // The producer id's high word is negative for "none" (-1): skip those without parsing.
      if (value.readInt32BE(PRODUCER_ID_OFFSET) < 0) continue;
      last.set(readBatchHeader(value).producerId, offsetOfLogKey(key));
    }
    return last;
  }
}
