/** A transaction coordinator over a real store in a temp dir, and the batches tests append. */
import { controlRecordType, CONTROL_TYPE_COMMIT } from '../../../../src/kafka/protocol/control-batch.js';
import { crc32c } from '../../../../src/kafka/protocol/crc32c.js';
import { ATTRIBUTES_OFFSET, CRC_OFFSET, encodeRecordBatch, readBatchHeader, TRANSACTIONAL_MASK } from '../../../../src/kafka/protocol/record-batch.js';
import { GroupCoordinator } from '../../../../src/kafka/server/groups/coordinator.js';
import { TransactionCoordinator } from '../../../../src/kafka/server/transactions/coordinator.js';
import type { TransactionCoordinatorOptions, TransactionStore } from '../../../../src/kafka/server/transactions/options.js';
import type { LogStore } from '../../../../src/store/types.js';
import { openTestStore, silentLogger, tempDir } from '../../../helpers/store.js';
import { ManualClock } from '../groups/helpers.js';

export interface TxnFixture {
  store: LogStore;
  groups: GroupCoordinator;
  clock: ManualClock;
  coordinator: TransactionCoordinator;
  /** A second coordinator over the same store, as after a restart (the first is closed). */
  restart(): Promise<TransactionCoordinator>;
  close(): Promise<void>;
}

export async function openTxnFixture(
  options: Partial<TransactionCoordinatorOptions> = {},
  topics: Record<string, number> = { out: 2, in: 1 },
  /** What the coordinator sees of the store (to inject failures). */
  wrap: (store: LogStore) => TransactionStore = (store) => store,
): Promise<TxnFixture> {
  const tmp = tempDir('weir-txn-');
  const store = await openTestStore(tmp.dir);
  for (const [name, partitions] of Object.entries(topics)) await store.createTopic(name, { partitions });
  const clock = new ManualClock();
  clock.advance(1_000_000);
  const groups = new GroupCoordinator({ store, clock, initialRebalanceDelayMs: 0 });
  let nextId = 1_000;
  const make = (): TransactionCoordinator =>
    new TransactionCoordinator({ store: wrap(store), groups, clock, logger: silentLogger, newProducerId: () => nextId++, ...options });
  let coordinator = make();
  await coordinator.start();
  const fixture: TxnFixture = {
    store,
    groups,
    clock,
    coordinator,
    async restart() {
      coordinator.close();
      coordinator = make();
      await coordinator.start();
      fixture.coordinator = coordinator;
      return coordinator;
    },
    async close() {
      coordinator.close();
      groups.close();
      await store.close();
      tmp.cleanup();
    },
  };
  return fixture;
}

/** A batch of `count` records from a transactional producer, starting at `baseSequence`. */
export function transactionalBatch(producerId: number, producerEpoch: number, baseSequence: number, count = 1): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`v${baseSequence + i}`) }));
  const batch = encodeRecordBatch({ baseOffset: 0, records, producerId, producerEpoch, baseSequence });
  batch.writeInt16BE(batch.readInt16BE(ATTRIBUTES_OFFSET) | TRANSACTIONAL_MASK, ATTRIBUTES_OFFSET);
  batch.writeUInt32BE(crc32c(batch, ATTRIBUTES_OFFSET, batch.length), CRC_OFFSET);
  return batch;
}

/** The transaction markers a partition holds, in log order: producer id, epoch and COMMIT or ABORT. */
export function markersIn(store: LogStore, topic: string, partition: number): { producerId: number; producerEpoch: number; commit: boolean }[] {
  const { batches } = store.read(topic, partition, 0, 64 << 20);
  return batches.flatMap((b) => {
    const type = controlRecordType(b);
    if (type === null) return [];
    const h = readBatchHeader(b);
    return [{ producerId: h.producerId, producerEpoch: h.producerEpoch, commit: type === CONTROL_TYPE_COMMIT }];
  });
}
