/**
 * Acknowledged ⇒ on disk, under a power cut. A SIGKILL keeps the page cache, so the kill tests
 * cannot tell "acknowledged after the flush" from "acknowledged after the commit"; this test can.
 * Weir runs with an LD_PRELOAD shim (shim.c) that keeps, beside its data directory, the image a
 * disk would hold: each file as of its last fsync/fdatasync, the directory's entries as of its
 * last fsync. Under MQTT QoS 1 and Kafka acks=all load we SIGKILL Weir at a random moment, build
 * the data directory from that image alone, and check every acknowledged record is in it byte for
 * byte, with offsets dense from the log start. The next Weir starts on the recovered image, so
 * recovery from a power cut is tested too. Zero loss is the only passing result.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRecordBatch } from '../../src/kafka/protocol/record-batch.js';
import { buildShim, recoverImage } from '../helpers/powercut-image.js';
import { openTestStore, tempDir } from '../helpers/store.js';
import { startWeirProcess, WEIR_BIN, type WeirProcess } from '../helpers/weir-process.js';

/** The cut loop runs once per setting. */
const SETTINGS: { name: string; env: Record<string, string> }[] = [
  { name: 'defaults', env: {} },
  { name: 'overlapping_sync=false', env: { WEIR_STORE__OVERLAPPING_SYNC: 'false' } },
  { name: 'overlapping_sync=true', env: { WEIR_STORE__OVERLAPPING_SYNC: 'true' } },
  // A topic flush window: commits wait up to 20 ms to gather records; acks still wait for the flush.
  { name: 'flush.ms=20', env: { WEIR_TOPIC_DEFAULTS__FLUSH_MS: '20' } },
];
const CUTS_PER_SETTING = 10;
const PARTITIONS = 2;
const MQTT_CLIENTS = 6;
const MQTT_IN_FLIGHT = 4;
const KAFKA_PRODUCERS = 2;
const KAFKA_PER_SEND = 10;
const KAFKA_TOPIC = 'powercut';
/**
 * Each flush takes this long under the shim, as on a gateway's SD card. This machine's disk
 * flushes in ~0.1 ms, so a cut seldom lands between an early ack and the flush behind it: with
 * no delay, acks sent before the flush went unseen through all ten cuts of one setting; with
 * 5 ms, every setting caught them within four cuts.
 */
const FLUSH_LATENCY_US = 5_000;
/**
 * Open recovered images as after a reboot. With overlappingSync, LMDB keeps the meta of the last
 * *flushed* transaction apart and, on open, rolls back to it unless the newer meta was written
 * during the current boot (boot id), when the page cache that held it must have survived. A
 * simulated cut keeps the boot id; lmdb-js's `LMDB_RESTORE=safe` makes LMDB ignore it, so the
 * image is recovered exactly as a rebooted gateway would recover it.
 */
const AFTER_REBOOT = { LMDB_RESTORE: 'safe' };
/** Where Weir stores MQTT messages no rule matches (the default), keyed by the MQTT topic. */
const MQTT_LOG_TOPIC = 'mqtt';

interface MqttAck {
  key: string;
  value: Buffer;
}
interface KafkaAck {
  partition: number;
  offset: number;
  value: Buffer;
}
interface Acks {
  mqtt: MqttAck[];
  kafka: KafkaAck[];
}

let shim = '';
let shimDir: { dir: string; cleanup(): void } | undefined;
let running: WeirProcess | undefined;

beforeAll(() => {
  expect(existsSync(WEIR_BIN), `${WEIR_BIN} is missing: run "npm run build" first (npm test does)`).toBe(true);
  shimDir = tempDir('weir-powercut-shim-');
  shim = buildShim(shimDir.dir);
});
afterAll(async () => {
  await running?.kill();
  shimDir?.cleanup();
});

/** Distinct, binary, of varying size (up to ~1 KB), so that "byte for byte" means something. */
function payload(id: string, seq: number): Buffer {
  return Buffer.concat([Buffer.from(`${id}#${seq}|`), randomBytes((seq * 53) % 1000)]);
}

/** One MQTT publisher: keeps MQTT_IN_FLIGHT QoS 1 messages outstanding until its connection dies. */
function publishLoop(client: MqttClient, topic: string, acks: MqttAck[]): void {
  let seq = 0;
  const next = (): void => {
    if (!client.connected) return;
    const value = payload(topic, seq++);
    client.publish(topic, value, { qos: 1 }, (err) => {
      if (err !== undefined && err !== null) return;
      acks.push({ key: topic, value });
      next();
    });
  };
  for (let i = 0; i < MQTT_IN_FLIGHT; i++) next();
}

/** One Kafka producer: acks=all sends of KAFKA_PER_SEND records, one at a time, until one fails. */
async function produceLoop(producer: Producer, id: string, n: number, acks: KafkaAck[]): Promise<void> {
  for (let seq = 0; ; seq++) {
    const partition = (n + seq) % PARTITIONS;
    const values = Array.from({ length: KAFKA_PER_SEND }, (_, i) => payload(id, seq * KAFKA_PER_SEND + i));
    let baseOffset: number;
    try {
      const [meta] = await producer.send({ topic: KAFKA_TOPIC, acks: -1, messages: values.map((value) => ({ value, partition })) });
      baseOffset = Number(meta!.baseOffset);
    } catch {
      return; // Weir is gone: what it did not acknowledge promises nothing
    }
    values.forEach((value, i) => acks.push({ partition, offset: baseOffset + i, value }));
  }
}

/** Starts Weir on `dir` with the shim, loads it, and SIGKILLs it at a random moment. */
async function loadAndCut(dir: string, shadow: string, env: Record<string, string>, id: string, acks: Acks): Promise<void> {
  const weir = (running = await startWeirProcess(dir, {
    env: {
      LD_PRELOAD: shim,
      WEIR_POWERCUT_DIR: dir,
      WEIR_POWERCUT_SHADOW: shadow,
      WEIR_POWERCUT_FSYNC_DELAY_US: String(FLUSH_LATENCY_US),
      WEIR_MQTT__ENABLED: 'true',
      WEIR_MQTT__LISTEN: '127.0.0.1:0',
      ...AFTER_REBOOT,
      ...env,
    },
  }));
  const mqttBefore = acks.mqtt.length;
  const kafkaBefore = acks.kafka.length;
  const clients = await Promise.all(
    Array.from({ length: MQTT_CLIENTS }, (_, i) => connectAsync(`mqtt://${weir.mqtt!}`, { clientId: `${id}-c${i}`, reconnectPeriod: 0 })),
  );
  const kafka = new Kafka({ clientId: id, brokers: [weir.kafka], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  // Both topics made as a Kafka client would (a no-op once they exist), so both get
  // `topic_defaults` (the setting under test), whatever MQTT ingest gives the topics it creates.
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [KAFKA_TOPIC, MQTT_LOG_TOPIC].map((topic) => ({ topic, numPartitions: PARTITIONS })) });
  await admin.disconnect();
  const producers = await Promise.all(Array.from({ length: KAFKA_PRODUCERS }, async () => {
    const p = kafka.producer({ allowAutoTopicCreation: true });
    await p.connect();
    return p;
  }));
  clients.forEach((c, i) => publishLoop(c, `pc/${id}/c${i}`, acks.mqtt));
  const loops = producers.map((p, i) => produceLoop(p, `${id}-p${i}`, i, acks.kafka));
  // Under load on both protocols, then at a random moment.
  await expect.poll(() => acks.mqtt.length - mqttBefore >= 40 && acks.kafka.length - kafkaBefore >= 40, { timeout: 15_000, interval: 5 }).toBe(true);
  await delay(Math.floor(Math.random() * 200));
  const { signal } = await weir.kill('SIGKILL');
  running = undefined;
  expect(signal).toBe('SIGKILL');
  // Acks already on their way count too: Weir sent them before it died.
  await Promise.all(loops);
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)));
}

/** Checks every acknowledged record against the recovered image (opened in-process, on a copy). */
async function verify(dir: string, acks: Acks, cut: string): Promise<number> {
  Object.assign(process.env, AFTER_REBOOT); // lmdb-js reads it when it opens the environment
  const store = await openTestStore(dir).finally(() => {
    for (const name of Object.keys(AFTER_REBOOT)) delete process.env[name];
  });
  try {
    const logs = new Map<string, Map<number, { key: Buffer | null; value: Buffer | null }>>();
    let records = 0;
    for (const topic of [KAFKA_TOPIC, MQTT_LOG_TOPIC]) {
      expect(store.hasTopic(topic), `${cut}: topic ${topic} is missing`).toBe(true);
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const { logStartOffset, highWatermark } = store.offsets(topic, partition);
        expect(logStartOffset).toBe(0);
        const log = new Map<number, { key: Buffer | null; value: Buffer | null }>();
        let expected = 0;
        while (expected < highWatermark) {
          for (const batch of store.read(topic, partition, expected, 1 << 20).batches) {
            for (const r of decodeRecordBatch(batch).records) {
              if (r.offset < expected) continue;
              // Dense: each offset once, in order, from the log start.
              if (r.offset !== expected) throw new Error(`${cut}: ${topic}-${partition} has offset ${r.offset} where ${expected} was expected`);
              log.set(r.offset, { key: r.key === null ? null : Buffer.from(r.key), value: r.value === null ? null : Buffer.from(r.value) });
              expected++;
            }
          }
        }
        records += log.size;
        logs.set(`${topic}-${partition}`, log);
      }
    }
    const problems: string[] = [];
    for (const a of acks.kafka) {
      const found = logs.get(`${KAFKA_TOPIC}-${a.partition}`)?.get(a.offset);
      if (found === undefined) problems.push(`${KAFKA_TOPIC}-${a.partition}@${a.offset} is missing`);
      else if (found.value?.equals(a.value) !== true) problems.push(`${KAFKA_TOPIC}-${a.partition}@${a.offset} has other bytes`);
    }
    const mqttStored = new Set<string>();
    for (let partition = 0; partition < PARTITIONS; partition++) {
      for (const r of logs.get(`${MQTT_LOG_TOPIC}-${partition}`)!.values()) mqttStored.add(`${r.key?.toString('hex')}:${r.value?.toString('hex')}`);
    }
    for (const a of acks.mqtt) {
      if (!mqttStored.has(`${Buffer.from(a.key).toString('hex')}:${a.value.toString('hex')}`)) problems.push(`MQTT ${a.value.subarray(0, a.value.indexOf('|')).toString()} is missing`);
    }
    const total = acks.kafka.length + acks.mqtt.length;
    expect(problems.slice(0, 10), `${cut}: ${problems.length} of ${total} acknowledged records missing or wrong after the power cut`).toEqual([]);
    return records;
  } finally {
    await store.close();
  }
}

describe('power cut under MQTT QoS 1 and Kafka acks=all load', () => {
  it.each(SETTINGS.map((s, i) => ({ ...s, i })))(`every acknowledged record survives ${CUTS_PER_SETTING} power cuts ($name)`, async ({ name, env, i }) => {
    const started = Date.now();
    const acks: Acks = { mqtt: [], kafka: [] };
    let image = tempDir('weir-powercut-');
    let records = 0;
    try {
      for (let n = 0; n < CUTS_PER_SETTING; n++) {
        const cut = `${name}, cut ${n + 1}`;
        const shadow = tempDir('weir-powercut-shadow-');
        const next = tempDir('weir-powercut-');
        const check = tempDir('weir-powercut-check-');
        try {
          await loadAndCut(image.dir, shadow.dir, env, `s${i}r${n}`, acks);
          recoverImage(shadow.dir, next.dir);
          // Opening the store writes to it: check a copy, start the next Weir on the image itself.
          cpSync(next.dir, check.dir, { recursive: true });
          const now = await verify(check.dir, acks, cut);
          expect(now, `${cut}: records went away`).toBeGreaterThanOrEqual(records);
          records = now;
        } finally {
          shadow.cleanup();
          check.cleanup();
          image.cleanup();
          image = next;
        }
      }
      console.log(
        `power-cut test (${name}): ${CUTS_PER_SETTING} cuts, ${acks.mqtt.length} MQTT PUBACKs and ${acks.kafka.length} Kafka acks verified, ` +
          `${records} records in the recovered log, ${Date.now() - started} ms`,
      );
    } finally {
      image.cleanup();
    }
  }, 60_000);
});
