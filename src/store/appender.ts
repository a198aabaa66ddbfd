/**
 * How an append enters the group commit: checked (the store writable, the partition there, sizes
 * and client batches valid), then queued at once if the write queue and the disk budget allow
 * and no earlier append to its partition waits, or once admission lets it in, in arrival order
 * per partition (admission.ts), or refused.
 */
import type { RecordInput } from '../kafka/protocol/record-batch.js';
import type { Admission } from './admission.js';
import type { GroupCommitter } from './group-commit.js';
import type { PartitionState } from './partition.js';
import type { PendingAppend } from './pending-append.js';
import type { TopicConfig } from './topic-config.js';
import type { TopicRegistry } from './topics.js';
import type { AppendResult, AppendWaiter, ValidatedBatches } from './types.js';
import { checkRecordsSize, validateClientBatches } from './validate.js';

export class Appender {
  constructor(
    private readonly topics: TopicRegistry,
    private readonly admission: Admission,
    private readonly committer: GroupCommitter,
    private readonly assertWritable: () => void,
    private readonly isClosing: () => boolean,
  ) {}

  appendRecords(topic: string, partition: number, records: RecordInput[]): Promise<AppendResult> {
    return promised((waiter) => this.appendRecordsTo(topic, partition, records, waiter));
  }

  appendRecordsTo(topic: string, partition: number, records: RecordInput[], waiter: AppendWaiter): void {
    let state: PartitionState;
    let config: TopicConfig;
    let bytes: number;
    try {
      this.assertWritable();
      state = this.topics.partition(topic, partition);
      config = this.topics.config(topic);
      bytes = checkRecordsSize(records, config, topic, partition);
    } catch (err) {
      queueMicrotask(() => waiter.appendSettled(err));
      return;
    }
    let payloadBytes = 0;
    for (const r of records) payloadBytes += (r.key?.length ?? 0) + (r.value?.length ?? 0);
    this.enqueue(pendingAppend(state, config, records, undefined, records.length, bytes, payloadBytes, waiter));
  }

  async appendBatches(topic: string, partition: number, recordSet: Buffer): Promise<AppendResult> {
    return this.appendValidatedBatches(this.validateBatches(topic, partition, recordSet));
  }

  /** Synchronous, so a caller can refuse bad records before it records anything about them. */
  validateBatches(topic: string, partition: number, recordSet: Buffer): ValidatedBatches {
    this.assertWritable();
    this.topics.partition(topic, partition); // throws UNKNOWN_TOPIC_OR_PARTITION
    return validateClientBatches(recordSet, this.topics.config(topic), topic, partition);
  }

  async appendValidatedBatches(validated: ValidatedBatches): Promise<AppendResult> {
    const { topic, partition, records, bytes } = validated;
    this.assertWritable();
    const state = this.topics.partition(topic, partition);
    const config = this.topics.config(topic);
    // The caller's buffer is rewritten in place (base offset) and kept until committed: copy it.
    const copies = validated.batches.map((b) => Buffer.from(b));
    return promised((waiter) => this.enqueue(pendingAppend(state, config, undefined, copies, records, bytes, bytes, waiter)));
  }

  /** A control batch the store itself made (a transaction marker): stored as it is, offset rewritten. */
  appendControlBatch(topic: string, partition: number, batch: Buffer): Promise<AppendResult> {
    this.assertWritable();
    const state = this.topics.partition(topic, partition);
    const config = this.topics.config(topic);
    return promised((waiter) => this.enqueue(pendingAppend(state, config, undefined, [batch], 1, batch.length, 0, waiter)));
  }

  /**
   * Control batches into several partitions, and `alsoWrite`, in one LMDB transaction: all are
   * durable or none is. Not held back by the write queue's caps or the disk budget (a few dozen
   * bytes a partition, and what ends a transaction must not wait for the records it ends).
   */
  appendInOneTransaction(parts: { topic: string; partition: number; batch: Buffer }[], alsoWrite: () => void): Promise<void> {
    this.assertWritable();
    const targets = parts.map((p) => ({ ...p, state: this.topics.partition(p.topic, p.partition), config: this.topics.config(p.topic) }));
    const done = targets.map((t, i) => promised((waiter) => {
      const append = pendingAppend(t.state, t.config, undefined, [t.batch], 1, t.batch.length, 0, waiter);
      append.joinsNext = i < targets.length - 1;
      if (i === targets.length - 1) append.alsoWrite = alsoWrite;
      this.committer.enqueue(append);
    }));
    return Promise.all(done).then(() => undefined);
  }

  /**
   * Appends to one partition reach the committer, and so get their offsets, in the order they
   * arrived here: admission holds a later one behind an earlier one still waiting for room.
   */
  private enqueue(append: PendingAppend): void {
    const { partition, config, recordCount, bytes, waiter } = append;
    const policy = config['weir.overflow.policy'];
    if (this.admission.fits(partition, recordCount, bytes, policy)) {
      this.committer.enqueue(append);
      return;
    }
    this.admission
      .admitLater(partition, recordCount, bytes, policy, this.isClosing, () => this.committer.enqueue(append))
      .catch((err: unknown) => waiter.appendSettled(err ?? new Error('the append was not admitted')));
  }
}

function pendingAppend(
  partition: PartitionState,
  config: TopicConfig,
  records: RecordInput[] | undefined,
  batches: Buffer[] | undefined,
  recordCount: number,
  bytes: number,
  payloadBytes: number,
  waiter: AppendWaiter,
): PendingAppend {
  return {
    partition,
    config,
    records,
    batches,
    recordCount,
    bytes,
    payloadBytes,
    unqueued: false,
    flushDeadline: performance.now() + config['flush.ms'],
    flushMessages: config['flush.messages'],
    baseOffset: -1,
    lastOffset: -1,
    waiter,
  };
}

/** The promise form of a callback-style append. */
function promised(start: (waiter: AppendWaiter) => void): Promise<AppendResult> {
  return new Promise((resolve, reject) => start({ appendSettled: (err, result) => (err === null ? resolve(result!) : reject(err)) }));
}
