/** Client-built batches of idempotent and transactional producers, for store and listener tests. */
import { encodeRecordBatch } from '../../src/kafka/protocol/record-batch.js';

export interface ProducerBatchSpec {
  producerId: number;
  epoch?: number;
  /** Base sequence of the batch. */
  seq: number;
  /** Records in the batch (values `${label}-${seq + i}`). */
  count?: number;
  transactional?: boolean;
  label?: string;
}

export function producerBatch(spec: ProducerBatchSpec): Buffer {
  const count = spec.count ?? 1;
  const label = spec.label ?? `p${spec.producerId}`;
  return encodeRecordBatch({
    baseOffset: 0,
    records: Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`${label}-${spec.seq + i}`) })),
    producerId: spec.producerId,
    producerEpoch: spec.epoch ?? 0,
    baseSequence: spec.seq,
    transactional: spec.transactional ?? false,
  });
}
