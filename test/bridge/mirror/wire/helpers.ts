/**
 * The wire connection's test rig: a real Weir (in this process) whose Kafka listener plays the
 * upstream broker, plaintext, TLS or TLS + SASL, and the Metadata v4 codec written out by hand
 * (the connection's tests must not lean on the producer's own codecs).
 */
import { loadConfig } from '../../../../src/config/load.js';
import type { Reader } from '../../../../src/kafka/protocol/reader.js';
import type { Writer } from '../../../../src/kafka/protocol/writer.js';
import { startWeir, type RunningWeir } from '../../../../src/main.js';
import { silentLogger, tempDir } from '../../../helpers/store.js';

export interface TestBroker {
  readonly weir: RunningWeir;
  readonly port: number;
  stop(): Promise<void>;
}

/** A Weir with its Kafka listener on 127.0.0.1:0 and the WEIR_* settings in `env`. */
export async function startBroker(env: Record<string, string> = {}): Promise<TestBroker> {
  const tmp = tempDir('weir-wire-');
  const config = loadConfig({
    env: {
      WEIR_STORE__DIR: tmp.dir,
      WEIR_MQTT__ENABLED: 'false',
      WEIR_ADMIN__ENABLED: 'false',
      WEIR_KAFKA__LISTEN: '127.0.0.1:0',
      WEIR_STORE__RETENTION_CHECK_INTERVAL_MS: '0',
      WEIR_STORE__DISK_BUDGET_BYTES: '1GiB',
      WEIR_TOPIC_DEFAULTS__PARTITIONS: '2',
      ...env,
    },
    cwd: tmp.dir,
  });
  const weir = await startWeir(config, silentLogger);
  return {
    weir,
    port: weir.kafkaAddress!.port,
    async stop() {
      await weir.shutdown('test end');
      tmp.cleanup();
    },
  };
}

export const METADATA = 3;

/** Metadata Request v4 => [topics: name STRING] allow_auto_topic_creation BOOLEAN */
export function writeMetadataV4(topics: string[], autoCreate: boolean): (w: Writer) => void {
  return (w) => {
    w.array(topics, false, (w, t) => w.string(t));
    w.bool(autoCreate);
  };
}

export interface MetadataV4 {
  brokers: { nodeId: number; host: string; port: number }[];
  topics: { errorCode: number; name: string; partitions: { errorCode: number; partition: number; leader: number }[] }[];
}

/**
 * Metadata Response v4 => throttle_time_ms [brokers] cluster_id controller_id [topics]
 *   brokers => node_id INT32 host STRING port INT32 rack NULLABLE_STRING
 *   topics => error_code INT16 name STRING is_internal BOOLEAN [partitions]
 *   partitions => error_code INT16 partition_index INT32 leader_id INT32 [replica_nodes INT32] [isr_nodes INT32]
 */
export function readMetadataV4(r: Reader): MetadataV4 {
  r.int32();
  const brokers = r.array(false, (r) => {
    const nodeId = r.int32();
    const host = r.string();
    const port = r.int32();
    r.nullableString();
    return { nodeId, host, port };
  });
  r.nullableString();
  r.int32();
  const topics = r.array(false, (r) => {
    const errorCode = r.int16();
    const name = r.string();
    r.bool();
    const partitions = r.array(false, (r) => {
      const p = { errorCode: r.int16(), partition: r.int32(), leader: r.int32() };
      r.array(false, (r) => r.int32());
      r.array(false, (r) => r.int32());
      return p;
    });
    return { errorCode, name, partitions };
  });
  if (r.remaining !== 0) throw new Error(`${r.remaining} bytes left after a Metadata v4 response`);
  return { brokers, topics };
}
