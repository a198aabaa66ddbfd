/**
 * Idempotent-producer state (KIP-98): producer ids, epochs and, per (producer id, topic,
 * partition), the last 5 batches' sequence ranges, so a retried batch is not written twice.
 *
 * This is the request-side view: it also knows batches still being written, so a retry that
 * arrives while the original is in flight waits for the original's offsets. The log keeps its
 * own durable view of each producer (src/store/producer-table.ts), rebuilt at open from a
 * snapshot and the batches after it; a (producer, partition) this process has not seen — after a
 * restart, or once forgotten here — starts from that view, so a batch re-sent across a crash or
 * restart is still recognised. A producer the log does not know either (new, or expired after
 * producer.id.expiration.ms) has its first sequence accepted as it is, as Kafka does. Producer
 * ids start at Date.now() × 1000, so ids handed out after a restart never meet an old one's.
 *
 * Rules (Kafka's ProducerStateManager / ProducerAppendInfo):
 * - epoch lower than the known one: INVALID_PRODUCER_EPOCH (47);
 * - epoch higher: a new epoch must start at sequence 0, else OUT_OF_ORDER_SEQUENCE_NUMBER (45);
 * - same epoch: a batch equal to one of the last 5 is a duplicate and gets the original
 *   append's result; otherwise it must start at last sequence + 1, else error 45.
 * Sequences wrap from 2^31 - 1 to 0 (DefaultRecordBatch.incrementSequence).
 */
import type { AppendResult, RecordLog, StoredProducerState } from '../../store/types.js';
import type { KafkaErrorName } from '../protocol/error-codes.js';

/** Kafka keeps the metadata of the last 5 batches per producer and partition (max.in.flight ≤ 5). */
export const RETAINED_BATCHES = 5;
/** Cap on tracked (producer, partition) pairs; the least recently written is forgotten first. */
export const MAX_TRACKED_PARTITIONS = 100_000;
/**
 * Cap on producer ids whose epoch InitProducerId remembers (one per client start): the oldest is
 * forgotten first, and a forgotten id's KIP-360 bump is taken at the epoch the client sends.
 */
export const MAX_TRACKED_PRODUCERS = 100_000;

interface BatchEntry {
  firstSeq: number;
  lastSeq: number;
  result: Promise<AppendResult>;
}

/** A batch whose append has started and not ended: where the sequence goes back to if it fails. */
interface InFlightBatch {
  entry: BatchEntry;
  rewindTo: number | null;
}

interface PartitionProducerState {
  epoch: number;
  /** Next sequence expected; null until the first batch is accepted. */
  nextSeq: number | null;
  batches: BatchEntry[];
  /** Accepted batches still being written, oldest first. */
  inFlight: InFlightBatch[];
}

export interface ProducerBatchInfo {
  producerId: number;
  producerEpoch: number;
  firstSeq: number;
  /** Records in the set (lastOffsetDelta + 1 summed over its batches). */
  recordCount: number;
}

export type SequencedAppend =
  | { ok: true; result: AppendResult; duplicate: boolean }
  | { ok: false; error: KafkaErrorName; message: string };

export function incrementSequence(seq: number, by: number): number {
  const max = 0x7fffffff;
  return seq > max - by ? by - (max - seq) - 1 : seq + by;
}

export class ProducerStateManager {
  private nextProducerId = Date.now() * 1000;
  private readonly epochs = new Map<number, number>();
  private readonly partitions = new Map<string, PartitionProducerState>();

  constructor(private readonly log: Pick<RecordLog, 'producerState' | 'offsets'>) {}

  /** InitProducerId without a transactional id: a new id, or (KIP-360) the same id, epoch + 1. */
  initProducerId(existingId: number, existingEpoch: number): { producerId: number; producerEpoch: number } | { error: KafkaErrorName } {
    if (existingId >= 0) {
      const known = this.epochs.get(existingId);
      if (known !== undefined && known !== existingEpoch) return { error: 'INVALID_PRODUCER_EPOCH' };
      const epoch = (known ?? existingEpoch) + 1;
      if (epoch <= 0x7fff) {
        this.rememberEpoch(existingId, epoch);
        return { producerId: existingId, producerEpoch: epoch };
      }
      // Epoch exhausted: a fresh id, as Kafka does.
    }
    const producerId = this.nextProducerId++;
    this.rememberEpoch(producerId, 0);
    return { producerId, producerEpoch: 0 };
  }

  private rememberEpoch(producerId: number, epoch: number): void {
    this.epochs.delete(producerId); // re-inserted last: the Map stays in least-recently-initialised order
    this.epochs.set(producerId, epoch);
    if (this.epochs.size > MAX_TRACKED_PRODUCERS) this.epochs.delete(this.epochs.keys().next().value!);
  }

  /**
   * Checks the batch's sequence and runs `append` only when it is the next one. Concurrent
   * calls for one partition are ordered by call order, which is request order on a connection.
   * The caller has validated the records already (Kafka's Log.append order, KIP-98): `append`
   * starts the write of checked batches, and only admission or the commit can still fail it.
   */
  async append(topic: string, partition: number, info: ProducerBatchInfo, append: () => Promise<AppendResult>): Promise<SequencedAppend> {
    const key = `${info.producerId}\u0000${partition}\u0000${topic}`;
    let state = this.partitions.get(key);
    const lastSeq = incrementSequence(info.firstSeq, info.recordCount - 1);
    if (state !== undefined) {
      if (info.producerEpoch < state.epoch) {
        return { ok: false, error: 'INVALID_PRODUCER_EPOCH', message: `producer ${info.producerId} epoch ${info.producerEpoch} is older than ${state.epoch}` };
      }
      if (info.producerEpoch > state.epoch) {
        if (info.firstSeq !== 0) {
          return { ok: false, error: 'OUT_OF_ORDER_SEQUENCE_NUMBER', message: `a new epoch ${info.producerEpoch} must start at sequence 0, not ${info.firstSeq}` };
        }
        state = { epoch: info.producerEpoch, nextSeq: null, batches: [], inFlight: [] };
      } else {
        const dup = state.batches.find((b) => b.firstSeq === info.firstSeq && b.lastSeq === lastSeq);
        if (dup !== undefined) return { ok: true, result: await dup.result, duplicate: true };
        if (state.nextSeq !== null && info.firstSeq !== state.nextSeq) {
          return { ok: false, error: 'OUT_OF_ORDER_SEQUENCE_NUMBER', message: `expected sequence ${state.nextSeq} from producer ${info.producerId} on ${topic}-${partition}, got ${info.firstSeq}` };
        }
      }
    } else {
      const stored = this.log.producerState(topic, partition, info.producerId);
      if (stored !== undefined) {
        this.partitions.set(key, this.fromLog(topic, partition, stored));
        return this.append(topic, partition, info, append);
      }
      state = { epoch: info.producerEpoch, nextSeq: null, batches: [], inFlight: [] };
    }
    // Re-insert to keep the Map in least-recently-written order for eviction.
    this.partitions.delete(key);
    this.partitions.set(key, state);
    if (this.partitions.size > MAX_TRACKED_PARTITIONS) this.partitions.delete(this.partitions.keys().next().value!);

    const entry: BatchEntry = { firstSeq: info.firstSeq, lastSeq, result: append() };
    const flight: InFlightBatch = { entry, rewindTo: state.nextSeq };
    state.batches.push(entry);
    if (state.batches.length > RETAINED_BATCHES) state.batches.shift();
    state.inFlight.push(flight);
    state.nextSeq = incrementSequence(lastSeq, 1);
    const s = state;
    try {
      return { ok: true, result: await entry.result, duplicate: false };
    } catch (err) {
      // Not written: forget it, so the client's retry is taken as new rather than a duplicate.
      s.batches = s.batches.filter((b) => b !== entry);
      rewind(s, flight);
      throw err;
    } finally {
      const at = s.inFlight.indexOf(flight);
      if (at >= 0) s.inFlight.splice(at, 1);
    }
  }

  /** This process's view of a producer the log knows (after a restart): durable batches only. */
  private fromLog(topic: string, partition: number, stored: StoredProducerState): PartitionProducerState {
    const { logStartOffset } = this.log.offsets(topic, partition);
    const batches = stored.batches.map((b) => ({
      firstSeq: b.firstSeq,
      lastSeq: b.lastSeq,
      result: Promise.resolve({ baseOffset: b.firstOffset, lastOffset: b.lastOffset, logStartOffset }),
    }));
    const last = stored.batches.at(-1);
    return { epoch: stored.producerEpoch, nextSeq: last === undefined ? null : incrementSequence(last.lastSeq, 1), batches, inFlight: [] };
  }
}

/**
 * After `failed` was not written: the sequence goes back to where it was before it.
 *
 * Kafka checks a batch against the batches already in the log: Log.append validates the records,
 * checks producer state and appends under the partition lock, and updates the producer's state
 * only once the batch is in the log (KIP-98). Here the sequence is taken when the append starts,
 * so that pipelined batches share a group commit; the produce handler has validated the records
 * by then, so what can still fail is the write queue's admission (full, disk budget) or the
 * commit itself. A batch accepted behind the failed one and still in flight takes over its
 * rewind point: a failed commit fails every commit issued behind it (the group commit's
 * writeIfExists), so those batches fail too, and in whichever order they fail the sequence ends
 * where it was before the first of them. If one behind it is written anyway (the write queue refused the earlier batch and took the
 * later one, or a later batch was still queued when the commit failed), the log has a gap Kafka
 * would never leave; the sequence then stays past the written batch, so the failed batch's retry
 * is answered OUT_OF_ORDER_SEQUENCE_NUMBER — the client is told of the gap (it fails the
 * producer, or bumps the epoch under KIP-360) rather than the batch being written after records
 * that followed it.
 */
function rewind(state: PartitionProducerState, failed: InFlightBatch): void {
  const behind = state.inFlight[state.inFlight.indexOf(failed) + 1];
  if (behind !== undefined) behind.rewindTo = failed.rewindTo;
  else if (state.nextSeq === incrementSequence(failed.entry.lastSeq, 1)) state.nextSeq = failed.rewindTo;
}
