/**
 * Helpers for the MQTT bridge tests: a real store in a temp dir, the bridge on port 0 configured
 * through the real config loader (WEIR_* variables, as an operator would), and a reader that
 * decodes every record of a topic.
 */
import { startMqttBridge, type MqttBridge } from '../../bridge/mqtt/index.js';
import { mqttOptionsFromConfig } from '../../bridge/mqtt/options.js';
import { loadConfig } from '../../src/config/load.js';
import type { WeirConfig } from '../../src/config/schema.js';
import { storeOptionsFromConfig } from '../../src/config/store-options.js';
import { decodeRecordBatch } from '../../src/kafka/protocol/record-batch.js';
import type { Logger } from '../../src/logger.js';
import { openStore } from '../../src/store/index.js';
import type { LogStore, StoreOptions } from '../../src/store/types.js';

export interface StoredRecord {
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: Record<string, string>;
}

/** The config a test bridge runs with: port 0, a 1 GiB budget, no retention timer, plus `env`. */
export function bridgeConfig(dir: string, env: Record<string, string> = {}): WeirConfig {
  return loadConfig({
    env: {
      WEIR_STORE__DIR: dir,
      WEIR_STORE__DISK_BUDGET_BYTES: '1GiB',
      WEIR_STORE__RETENTION_CHECK_INTERVAL_MS: '0',
      WEIR_MQTT__LISTEN: '127.0.0.1:0',
      // Commit at once: these tests wait on PUBACKs one by one. The flush window has its own tests.
      WEIR_MQTT__CREATED_TOPIC_FLUSH_MS: '0',
      ...env,
    },
    cwd: dir,
  });
}

export interface RunningBridge {
  store: LogStore;
  bridge: MqttBridge;
  url: string;
  close(): Promise<void>;
}

export async function startTestBridge(
  dir: string, logger: Logger, env: Record<string, string> = {}, storeOverrides: Partial<StoreOptions> = {},
): Promise<RunningBridge> {
  const config = bridgeConfig(dir, env);
  const store = await openStore({ ...storeOptionsFromConfig(config), ...storeOverrides }, logger);
  try {
    const bridge = await startMqttBridge(mqttOptionsFromConfig(config), store, logger);
    return {
      store,
      bridge,
      url: `mqtt://127.0.0.1:${bridge.address.port}`,
      async close() {
        await bridge.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** Every record of `topic`, partition by partition, in offset order. */
export function readAll(store: LogStore, topic: string): StoredRecord[] {
  const out: StoredRecord[] = [];
  for (const { partition } of store.describeTopic(topic).partitions) {
    const { highWatermark } = store.offsets(topic, partition);
    let next = store.offsets(topic, partition).logStartOffset;
    while (next < highWatermark) {
      const { batches } = store.read(topic, partition, next, 1 << 20);
      for (const batch of batches) {
        for (const r of decodeRecordBatch(batch).records) {
          if (r.offset < next) continue;
          const headers: Record<string, string> = {};
          for (const h of r.headers) headers[h.key] = h.value?.toString('utf8') ?? '';
          out.push({
            partition, offset: r.offset, timestamp: r.timestamp, headers,
            key: r.key === null ? null : Buffer.from(r.key), value: r.value === null ? null : Buffer.from(r.value),
          });
          next = r.offset + 1;
        }
      }
    }
  }
  return out;
}
