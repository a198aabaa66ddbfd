/**
 * An MQTT mapping rule into a compacted topic keyed by device, in `weir start` as an operator runs
 * it (a child process, configured by WEIR_* variables): the rule keys each reading by the device
 * its MQTT topic names, the topic (created over the Kafka protocol) compacts with segments rolled
 * by `segment.ms`, and the log cleaner runs on its own timer (`store.compaction_check_interval_ms`).
 * Several rounds of readings per device later, a Kafka consumer (kcat) reads exactly one record
 * per device, its latest reading, and the record in the active segment.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/store.js';
import { until } from '../../helpers/until.js';
import { startWeirProcess, type WeirProcess } from '../../helpers/weir-process.js';
import { createCompactedTopic, readWithKcat, type Seen } from './helpers.js';

const TOPIC = 'plant.temps';
const DEVICES = 8;
const ROUNDS = 4;
const SEGMENT_MS = 300;
const RULES = JSON.stringify([{ filter: 'plant/{line}/{device}/temp', topic: TOPIC, key: '{device}' }]);

const tmp = tempDir('weir-compaction-mqtt-');
let weir: WeirProcess | undefined;

beforeAll(async () => {
  weir = await startWeirProcess(tmp.dir, {
    env: {
      WEIR_MQTT__ENABLED: 'true',
      WEIR_MQTT__LISTEN: '127.0.0.1:0',
      WEIR_MQTT__RULES: RULES,
      WEIR_STORE__COMPACTION_CHECK_INTERVAL_MS: '200',
    },
  });
});

afterAll(async () => {
  await weir?.kill('SIGTERM');
  tmp.cleanup();
});

const reading = (device: number, round: number): string => `{"device":"dev-${device}","round":${round},"celsius":${20 + device + round / 10}}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('an MQTT mapping rule into a compacted topic keyed by device', () => {
  it('keeps one record per device after compaction: its latest reading', async () => {
    const kafka = new Kafka({ brokers: [weir!.kafka], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    // At the default min.cleanable.dirty.ratio (0.5) the last round's segment may be left for
    // later: after earlier passes it holds about as many bytes as the compacted part before it.
    // A dashboard topic that wants one record per device soon asks for any dirty share.
    const configs = { 'segment.ms': String(SEGMENT_MS), 'min.cleanable.dirty.ratio': '0.01' };
    await createCompactedTopic(admin, TOPIC, configs).finally(() => admin.disconnect());

    const sensors: MqttClient[] = await Promise.all(
      Array.from({ length: DEVICES }, (_, d) => connectAsync(`mqtt://${weir!.mqtt}`, { clientId: `dev-${d}`, reconnectPeriod: 0 })),
    );
    try {
      // A round per segment: each round waits out segment.ms, so its first reading rolls a segment.
      for (let round = 0; round < ROUNDS; round++) {
        await Promise.all(sensors.map((s, d) => s.publishAsync(`plant/line-${d % 2}/dev-${d}/temp`, reading(d, round), { qos: 1 })));
        await sleep(SEGMENT_MS + 50);
      }
      // One more device's first reading rolls the last round's segment closed and stays in the active one.
      await sensors[0]!.publishAsync('plant/line-9/gauge/temp', 'gauge online', { qos: 1 });
    } finally {
      await Promise.all(sensors.map((s) => s.endAsync()));
    }

    const produced = DEVICES * ROUNDS + 1;
    let seen: Seen[] = [];
    // The cleaner's timer, not the test, decides when; the assertions below say what is wrong if it never does.
    await until('the log cleaner to leave one record per device', async () => {
      seen = await readWithKcat(weir!.kafka, TOPIC, 0, produced - 1);
      return seen.length <= DEVICES + 1;
    }, 20_000, 250).catch(() => undefined);

    const latest = seen.slice(0, -1);
    expect(latest.map((r) => r.key).sort()).toEqual(Array.from({ length: DEVICES }, (_, d) => `dev-${d}`).sort());
    for (const r of latest) expect(r.value).toBe(reading(Number(r.key!.slice(4)), ROUNDS - 1));
    expect(seen.at(-1)).toEqual({ offset: produced - 1, key: 'gauge', value: 'gauge online' });
    // Offsets kept: the last round's, in order (each round was acknowledged before the next), then the gauge's.
    expect(seen.map((r) => r.offset)).toEqual(Array.from({ length: DEVICES + 1 }, (_, i) => DEVICES * (ROUNDS - 1) + i));
  });
});
