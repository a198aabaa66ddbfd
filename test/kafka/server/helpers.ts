/** Starts a Kafka listener on 127.0.0.1:0 over a fresh store in a temp dir. */
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { GroupCoordinator } from '../../../src/kafka/server/groups/coordinator.js';
import { groupHandlers } from '../../../src/kafka/server/groups/handlers/index.js';
import { coreHandlers } from '../../../src/kafka/server/handlers/index.js';
import { ProducerStateManager } from '../../../src/kafka/server/producer-state.js';
import { TransactionCoordinator } from '../../../src/kafka/server/transactions/coordinator.js';
import { transactionHandlers } from '../../../src/kafka/server/transactions/handlers.js';
import { producerIdsFrom, type TransactionCoordinatorOptions } from '../../../src/kafka/server/transactions/options.js';
import { startKafkaListener, type KafkaListener, type KafkaListenerOptions } from '../../../src/kafka/server/listener.js';
import { decodeRecordBatch, type DecodedRecord } from '../../../src/kafka/protocol/record-batch.js';
import type { LogStore, StoreOptions } from '../../../src/store/types.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { openTestStore, silentLogger, tempDir } from '../../helpers/store.js';

export { RawClient } from '../../helpers/raw-kafka.js';

export interface TestBroker {
  store: LogStore;
  listener: KafkaListener;
  /** The transaction coordinator, when the broker serves transactions. */
  transactions: TransactionCoordinator | undefined;
  port: number;
  bootstrap: string;
  /** What a partition holds, from offset 0: its stored batches and their records, decoded. */
  stored(topic: string, partition: number): { batches: Buffer[]; records: DecodedRecord[] };
  close(): Promise<void>;
}

export async function startTestBroker(
  opts: {
    listener?: Partial<KafkaListenerOptions>;
    store?: Partial<StoreOptions>;
    autoCreateTopics?: boolean;
    /** Serve consumer groups too; a short initial rebalance delay keeps group tests quick. */
    groups?: { initialRebalanceDelayMs: number };
    /** Serve transactions too (with consumer groups, which TxnOffsetCommit needs). */
    transactions?: Partial<Omit<TransactionCoordinatorOptions, 'store' | 'groups' | 'logger' | 'newProducerId'>>;
  } = {},
): Promise<TestBroker> {
  const tmp = tempDir('weir-kafka-');
  const store = await openTestStore(tmp.dir, opts.store);
  const groupOptions = opts.groups ?? (opts.transactions === undefined ? undefined : { initialRebalanceDelayMs: 0 });
  const coordinator = groupOptions === undefined ? undefined : new GroupCoordinator({ store, ...groupOptions });
  const producers = new ProducerStateManager(store);
  const transactions = opts.transactions === undefined
    ? undefined
    : new TransactionCoordinator({ store, groups: coordinator!, logger: silentLogger, newProducerId: producerIdsFrom(producers), ...opts.transactions });
  await transactions?.start();
  const listener = await startKafkaListener({
    host: '127.0.0.1',
    port: 0,
    advertisedHost: 'auto',
    advertisedPort: 'auto',
    allowUnauthenticatedNonLoopback: false,
    maxFrameBytes: 16 * 1024 * 1024,
    maxConnections: 64,
    maxInFlightPerConnection: 16,
    maxQueuedRequestBytes: 32 * 1024 * 1024,
    handlers: [
      ...coreHandlers({ store, autoCreateTopics: opts.autoCreateTopics ?? true, defaultPartitions: 1, producers, transactions }),
      ...(coordinator === undefined ? [] : groupHandlers(coordinator)),
      ...(transactions === undefined ? [] : transactionHandlers(transactions, store)),
    ],
    logger: silentLogger,
    ...opts.listener,
  });
  const port = listener.address.port;
  return {
    store,
    listener,
    transactions,
    port,
    bootstrap: `127.0.0.1:${port}`,
    stored(topic, partition) {
      const { batches } = store.read(topic, partition, 0, 64 << 20);
      return { batches, records: batches.flatMap((b) => decodeRecordBatch(b).records) };
    },
    async close() {
      transactions?.close();
      coordinator?.close();
      await listener.close();
      await store.close();
      tmp.cleanup();
    },
  };
}

/**
 * A test broker (`opts` as startTestBroker's) and a kafkajs client on it with its admin and a
 * producer connected, as the kafkajs tests start; `close` disconnects them and stops the broker.
 */
export async function startBrokerWithKafkajs(
  opts: Parameters<typeof startTestBroker>[0],
  clientId: string,
  retries: number,
): Promise<{ broker: TestBroker; kafka: Kafka; admin: Admin; producer: Producer; close(): Promise<void> }> {
  const broker = await startTestBroker(opts);
  const kafka = new Kafka({ clientId, brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries } });
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer();
  await producer.connect();
  return {
    broker,
    kafka,
    admin,
    producer,
    async close() {
      await producer.disconnect();
      await admin.disconnect();
      await broker.close();
    },
  };
}

/**
 * A test broker behind the fault proxy in Kafka-frame mode, so that a test can drop the
 * responses to Produce requests the broker has already stored: the case idempotent producers
 * retry through. The broker advertises the proxy, so reconnects after a lost response go through
 * it too. `bootstrap` is the proxy's; `close` stops both.
 */
export async function startTestBrokerBehindProxy(): Promise<{ broker: TestBroker; proxy: FaultProxy; bootstrap: string; close(): Promise<void> }> {
  const proxy = await startFaultProxy({ kafkaFrames: true });
  const broker = await startTestBroker({ listener: { advertisedPort: proxy.port } });
  proxy.target = broker.port;
  return {
    broker,
    proxy,
    bootstrap: `127.0.0.1:${proxy.port}`,
    async close() {
      await broker.close();
      await proxy.close();
    },
  };
}

/** A request frame: size, header v1 (or v2 with an empty tag buffer), body. */
export function requestFrame(apiKey: number, apiVersion: number, correlationId: number, body: Buffer, opts: { clientId?: string | null; flexible?: boolean } = {}): Buffer {
  const clientId = opts.clientId === undefined ? 'test' : opts.clientId;
  const cid = clientId === null ? Buffer.from([0xff, 0xff]) : Buffer.concat([Buffer.from([0, Buffer.byteLength(clientId) & 0xff]), Buffer.from(clientId)]);
  const head = Buffer.alloc(8);
  head.writeInt16BE(apiKey, 0);
  head.writeInt16BE(apiVersion, 2);
  head.writeInt32BE(correlationId, 4);
  const parts = [head, cid, ...(opts.flexible === true ? [Buffer.from([0])] : []), body];
  const len = parts.reduce((n, p) => n + p.length, 0);
  const size = Buffer.alloc(4);
  size.writeInt32BE(len, 0);
  return Buffer.concat([size, ...parts]);
}
