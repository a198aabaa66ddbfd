/** One append waiting for, or carried by, a group-commit transaction. */
import type { RecordInput } from '../kafka/protocol/record-batch.js';
import type { PartitionState } from './partition.js';
import type { TopicConfig } from './topic-config.js';
import type { AppendWaiter } from './types.js';

export interface PendingAppend {
  partition: PartitionState;
  config: TopicConfig;
  /**
   * Store-built records, or client-built batches (exactly one of the two). `records` is let go
   * once encoded into its batch: the append waits for its flush for milliseconds, and what it
   * holds on to meanwhile is what the young-generation GC has to copy.
   */
  records: RecordInput[] | undefined;
  batches: Buffer[] | undefined;
  recordCount: number;
  bytes: number;
  /**
   * What the writer asked to store: keys and values of store-built records, the whole record set
   * of a client-built one. The denominator of the flash-wear ratio (bytes written per payload byte).
   */
  payloadBytes: number;
  /** Taken off the queue's books (see GroupCommitter's `unqueue`). */
  unqueued: boolean;
  /** performance.now() by which a commit carrying this append must start (`flush.ms`). */
  flushDeadline: number;
  /** `flush.messages` of the append's topic. */
  flushMessages: number;
  /** Offsets given by the transaction that carries the append (-1 until then). */
  baseOffset: number;
  lastOffset: number;
  /** Told once: null and the offsets once durable, or why it failed. */
  waiter: AppendWaiter;
  /** Goes into the same transaction as the next append in the queue (a transaction's markers). */
  joinsNext?: boolean;
  /** Other writes issued inside the transaction that carries this append (all or nothing with it). */
  alsoWrite?: () => void;
}
