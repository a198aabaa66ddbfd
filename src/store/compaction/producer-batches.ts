/**
 * Each idempotent producer's last batch in a partition, which compaction keeps even when it
 * removes every record of it (then as an empty batch): Kafka's cleaner does so, because the
 * producer's sequence state is rebuilt from the log, and an idempotent producer's next batch must
 * follow the last one's sequence (KIP-98).
 *
 * Which batch is the last is learnt on the way, with no scan of its own: the walk keeps each
 * producer's emptied batch (as an empty batch) until it meets a later batch of the same producer,
 * which supersedes it, and the superseded one is deleted then. A later batch past the end of
 * this pass (the active segment, or past a full map) is met by a later pass, which deletes the
 * empty one then; until then it costs a batch header.
 */
import { logKey } from '../keys.js';
import type { PartitionState } from '../partition.js';
import type { Chunk } from './chunk.js';

export class ProducerEmptyBatches {
  /** Producer id → its emptied batch kept so far in this walk: base offset and bytes. */
  private readonly kept = new Map<number, { baseOffset: number; bytes: number }>();

  constructor(private readonly p: PartitionState) {}

  /** The walk met a batch of `producerId`: the empty batch kept for it before is not its last, and goes. */
  supersede(producerId: number, chunk: Chunk): void {
    const older = this.kept.get(producerId);
    if (older === undefined) return;
    this.kept.delete(producerId);
    const segment = this.p.segments.find((s) => older.baseOffset >= s.baseOffset && older.baseOffset < s.nextOffset);
    if (segment !== undefined) chunk.rewrite(logKey(this.p.id, older.baseOffset), null, segment, -older.bytes, 0);
  }

  /** The batch at `baseOffset` of `producerId`, left without records, stays as an empty batch of `bytes` for now. */
  keptEmpty(producerId: number, baseOffset: number, bytes: number): void {
    this.kept.set(producerId, { baseOffset, bytes });
  }
}
