/**
 * The Kafka listener's metrics and status section, read from a real listener after real client
 * traffic (kafkajs produce, kcat fetch, a garbage frame): every metric in KAFKA_METRIC_NAMES is
 * served and documented in the README, and the counters match what happened.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KAFKA_METRIC_NAMES, registerKafkaMetrics } from '../../src/kafka/server/metrics.js';
import { KafkaServerStats } from '../../src/kafka/server/stats.js';
import { kafkaStatusSection } from '../../src/kafka/server/status.js';
import { RawClient, startTestBroker, type TestBroker } from '../kafka/server/helpers.js';
import { parsePrometheus } from '../helpers/prometheus.js';

const run = promisify(execFile);
let broker: TestBroker;
let registry: Registry;

beforeAll(async () => {
  const stats = new KafkaServerStats();
  registry = new Registry();
  let listener: TestBroker['listener'] | undefined;
  registerKafkaMetrics(registry, stats, () => listener);
  broker = await startTestBroker({ listener: { stats } });
  listener = broker.listener;

  const kafka = new Kafka({ clientId: 'metrics', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'm', numPartitions: 1 }, { topic: 'tiny', numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '1024' }] }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'm', acks: -1, messages: Array.from({ length: 6 }, (_, i) => ({ value: `a${i}` })) });
  await producer.send({ topic: 'm', acks: -1, messages: Array.from({ length: 4 }, (_, i) => ({ value: `b${i}` })) });
  await expect(producer.send({ topic: 'tiny', acks: -1, messages: [{ value: 'x'.repeat(4096) }] })).rejects.toThrow();
  await producer.disconnect();
  const fetched = await run('kcat', ['-b', broker.bootstrap, '-C', '-t', 'm', '-o', 'beginning', '-e', '-q'], { timeout: 20_000 });
  expect(fetched.stdout.trim().split('\n')).toHaveLength(10);
  // Garbage: a negative frame size closes that connection as bad input.
  const raw = await RawClient.connect(broker.port);
  raw.write(Buffer.from([0xff, 0xff, 0xff, 0xfe, 1, 2, 3]));
  await raw.waitClosed();
}, 60_000);

afterAll(async () => {
  await broker?.close();
});

describe('Kafka listener metrics', () => {
  it('serves every metric in KAFKA_METRIC_NAMES, and the README documents each', async () => {
    const text = await registry.metrics();
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const name of KAFKA_METRIC_NAMES) {
      expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
      expect(readme, `README documents ${name}`).toContain(name);
    }
  });

  it('counts what happened: records in and out, requests by API and error, latency, bytes, bad input', async () => {
    const m = parsePrometheus(await registry.metrics());
    expect(m.get('weir_kafka_records_produced_total')).toBe(10);
    expect(m.get('weir_kafka_records_fetched_total')).toBeGreaterThanOrEqual(10);
    expect(m.get('weir_kafka_requests_total{api="Produce",error="NONE"}')).toBe(2);
    expect(m.get('weir_kafka_requests_total{api="Produce",error="MESSAGE_TOO_LARGE"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('weir_kafka_requests_total{api="CreateTopics",error="NONE"}')).toBe(1);
    expect(m.get('weir_kafka_request_duration_seconds_count{api="Produce"}')).toBeGreaterThanOrEqual(3);
    expect(m.get('weir_kafka_request_duration_seconds_bucket{le="+Inf",api="Fetch"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('weir_kafka_connections_closed_total{reason="bad_input"}')).toBe(1);
    expect(m.get('weir_kafka_connections_accepted_total')).toBeGreaterThanOrEqual(3);
    expect(m.get('weir_kafka_bytes_received_total')).toBeGreaterThan(10 * 2);
    expect(m.get('weir_kafka_bytes_sent_total')).toBeGreaterThan(0);
    expect(m.get('weir_kafka_connections')).toBe(broker.listener.connectionCount());
    // Counters follow the stats without double counting across scrapes.
    expect(parsePrometheus(await registry.metrics()).get('weir_kafka_records_produced_total')).toBe(10);
  });

  it('the status page section: Kafka clients with cards and a per-API table', () => {
    const s = kafkaStatusSection(broker.listener);
    expect(s.id).toBe('kafka');
    expect(s.title).toBe('Kafka clients');
    expect(s.state?.text).toBe(`${broker.bootstrap} (PLAINTEXT)`);
    const card = (id: string) => s.cards!.find((c) => c.id === id)!;
    expect(card('produced').value).toBe(10);
    expect(card('produced').rate).toBe('records/s');
    expect(card('turned-away').value).toBe(1);
    expect(card('errors').value).toBeGreaterThanOrEqual(1);
    const produce = s.table!.rows.find((r) => r[0] === 'Produce')!;
    expect(produce[1]).toBeGreaterThanOrEqual(3);
    expect(produce[2]).toBeGreaterThanOrEqual(1);
  });
});
