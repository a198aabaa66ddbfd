/** Starts a Kafka listener on 127.0.0.1:0 over a fresh store in a temp dir. */
import { GroupCoordinator } from '../../../src/kafka/server/groups/coordinator.js';
import { groupHandlers } from '../../../src/kafka/server/groups/handlers/index.js';
import { coreHandlers } from '../../../src/kafka/server/handlers/index.js';
import { startKafkaListener, type KafkaListener, type KafkaListenerOptions } from '../../../src/kafka/server/listener.js';
import type { LogStore, StoreOptions } from '../../../src/store/types.js';
import { openTestStore, silentLogger, tempDir } from '../../helpers/store.js';

export { RawClient } from '../../helpers/raw-kafka.js';

export interface TestBroker {
  store: LogStore;
  listener: KafkaListener;
  port: number;
  bootstrap: string;
  close(): Promise<void>;
}

export async function startTestBroker(
  opts: {
    listener?: Partial<KafkaListenerOptions>;
    store?: Partial<StoreOptions>;
    autoCreateTopics?: boolean;
    /** Serve consumer groups too; a short initial rebalance delay keeps group tests quick. */
    groups?: { initialRebalanceDelayMs: number };
  } = {},
): Promise<TestBroker> {
  const tmp = tempDir('weir-kafka-');
  const store = await openTestStore(tmp.dir, opts.store);
  const coordinator = opts.groups === undefined ? undefined : new GroupCoordinator({ store, ...opts.groups });
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
      ...coreHandlers({ store, autoCreateTopics: opts.autoCreateTopics ?? true, defaultPartitions: 1 }),
      ...(coordinator === undefined ? [] : groupHandlers(coordinator)),
    ],
    logger: silentLogger,
    ...opts.listener,
  });
  const port = listener.address.port;
  return {
    store,
    listener,
    port,
    bootstrap: `127.0.0.1:${port}`,
    async close() {
      coordinator?.close();
      await listener.close();
      await store.close();
      tmp.cleanup();
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
