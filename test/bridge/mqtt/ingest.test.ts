/**
 * MQTT PUBLISH → log records, with real MQTT.js clients over loopback and aedes on port 0.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../../src/kafka/protocol/murmur2.js';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/logger.js';
import { readAll, startTestBridge, type RunningBridge } from '../../helpers/mqtt-bridge.js';
import { silentLogger, tempDir } from '../../helpers/store.js';

const RULES = JSON.stringify([
  { filter: 'sensors/{site}/{device}/#', topic: 'sensors.{site}', key: '{device}', headers: { source: 'gw-{site}' } },
  { filter: 'plain/+', topic: 'plain' },
]);

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function bridge(env: Record<string, string> = {}): Promise<RunningBridge> {
  const { dir, cleanup } = tempDir('weir-mqtt-');
  const running = await startTestBridge(dir, silentLogger, { WEIR_MQTT__RULES: RULES, WEIR_TOPIC_DEFAULTS__PARTITIONS: '4', ...env });
  cleanups.push(cleanup, () => running.close());
  return running;
}

async function client(url: string, opts: { clientId?: string; username?: string } = {}): Promise<MqttClient> {
  const c = await connectAsync(url, { reconnectPeriod: 0, ...opts });
  cleanups.push(() => c.endAsync(true));
  return c;
}

function closed(c: MqttClient): Promise<void> {
  return new Promise((resolve) => (c.connected ? c.once('close', () => resolve()) : resolve()));
}

describe('MQTT → log', () => {
  it.each([0, 1, 2] as const)('QoS %i: record in the mapped topic and murmur2 partition, value unchanged, headers set', async (qos) => {
    const b = await bridge();
    const c = await client(b.url, { clientId: `dev-${qos}`, username: 'alice' });
    const payload = Buffer.from([0, 1, 2, 255, qos]);
    const before = Date.now();
    await c.publishAsync('sensors/north/dev42/temp', payload, { qos });
    if (qos === 0) await expect.poll(() => b.bridge.stats().appended).toBe(1);
    const records = readAll(b.store, 'sensors.north');
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r.value).toEqual(payload);
    expect(r.key?.toString()).toBe('dev42');
    expect(r.partition).toBe(partitionForKey(Buffer.from('dev42'), 4));
    expect(r.timestamp).toBeGreaterThanOrEqual(before);
    expect(r.headers).toEqual({
      'mqtt.topic': 'sensors/north/dev42/temp', 'mqtt.qos': String(qos), 'mqtt.client_id': `dev-${qos}`,
      'mqtt.username': 'alice', 'mqtt.site': 'north', 'mqtt.device': 'dev42', source: 'gw-north',
    });
  });

  it('QoS 1: the PUBACK arrives only after the record is readable from the log', async () => {
    const b = await bridge();
    const c = await client(b.url);
    for (let i = 0; i < 50; i++) {
      await c.publishAsync(`sensors/s/d${i % 5}/x`, `m${i}`, { qos: 1 });
      // Acknowledged ⇒ appended: the record is already in the store when the PUBACK is seen.
      expect(readAll(b.store, 'sensors.s').some((r) => r.value?.toString() === `m${i}`)).toBe(true);
    }
  });

  it('default rule: unmatched messages go to topic "mqtt" keyed by the MQTT topic', async () => {
    const b = await bridge();
    const c = await client(b.url);
    await c.publishAsync('other/thing', 'v', { qos: 1 });
    const [r] = readAll(b.store, 'mqtt');
    expect(r?.key?.toString()).toBe('other/thing');
    expect(r?.partition).toBe(partitionForKey(Buffer.from('other/thing'), 4));
  });

  it('a rule without a key gives a null key', async () => {
    const b = await bridge();
    const c = await client(b.url);
    await c.publishAsync('plain/a', 'v', { qos: 1 });
    expect(readAll(b.store, 'plain')[0]?.key).toBeNull();
  });

  it('unmatched: drop acknowledges, counts and stores nothing', async () => {
    const b = await bridge({ WEIR_MQTT__UNMATCHED: 'drop' });
    const c = await client(b.url);
    await c.publishAsync('nowhere/x', 'v', { qos: 1 });
    expect(b.bridge.stats().unmatchedDropped).toBe(1);
    expect(b.store.hasTopic('mqtt')).toBe(false);
    await c.publishAsync('plain/ok', 'v', { qos: 1 }); // the connection is still usable
  });

  it('unmatched: refuse disconnects only that client', async () => {
    const b = await bridge({ WEIR_MQTT__UNMATCHED: 'refuse' });
    const bad = await client(b.url);
    const good = await client(b.url);
    const gone = closed(bad);
    bad.publish('nowhere/x', 'v', { qos: 1 });
    await gone;
    expect(b.bridge.stats().refused).toEqual({ unmatched: 1 });
    await good.publishAsync('plain/ok', 'v', { qos: 1 });
    expect(readAll(b.store, 'plain')).toHaveLength(1);
  });

  it('auto_create_topics false: a message for a missing topic is refused; an existing one works', async () => {
    const b = await bridge({ WEIR_MQTT__AUTO_CREATE_TOPICS: 'false' });
    await b.store.createTopic('plain');
    const c = await client(b.url);
    await c.publishAsync('plain/ok', 'v', { qos: 1 });
    const gone = closed(c);
    c.publish('sensors/s/d/x', 'v', { qos: 1 });
    await gone;
    expect(b.bridge.stats().refused).toEqual({ 'unknown-topic': 1 });
    expect(b.store.hasTopic('sensors.s')).toBe(false);
  });

  it('messages for many new topics at once: each topic created once, with only its own messages', async () => {
    const created: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) {
          if (l === '') continue;
          const line = JSON.parse(l) as { msg?: string; topic?: string };
          if (line.msg === 'created log topic for MQTT messages') created.push(String(line.topic));
        }
        done();
      },
    });
    const { dir, cleanup } = tempDir('weir-mqtt-');
    const rules = JSON.stringify([{ filter: 'fresh/{t}', topic: 'fresh.{t}' }]);
    const b = await startTestBridge(dir, createLogger({ level: 'info', pretty: false, destination: sink }), { WEIR_MQTT__RULES: rules, WEIR_TOPIC_DEFAULTS__PARTITIONS: '3' });
    cleanups.push(cleanup, () => b.close());
    const topics = Array.from({ length: 12 }, (_, i) => `t${i}`);
    const clients = await Promise.all(Array.from({ length: 5 }, (_, i) => client(b.url, { clientId: `burst-${i}` })));
    await Promise.all(clients.flatMap((c, i) => topics.map((t) => c.publishAsync(`fresh/${t}`, `${t}:${i}`, { qos: 1 }))));
    expect([...created].sort()).toEqual(topics.map((t) => `fresh.${t}`).sort());
    for (const t of topics) {
      expect(b.store.describeTopic(`fresh.${t}`).partitions).toHaveLength(3);
      expect(readAll(b.store, `fresh.${t}`).map((r) => r.value?.toString()).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `${t}:${i}`));
    }
  });

  it('$SYS/ publishes are refused', async () => {
    const b = await bridge();
    const c = await client(b.url);
    const gone = closed(c);
    c.publish('$SYS/broker/x', 'v', { qos: 1 });
    await gone;
    expect(b.bridge.stats().refused).toEqual({ 'sys-topic': 1 });
  });

  it('topic templates map "/" and illegal characters to a legal Kafka name', async () => {
    const b = await bridge({ WEIR_MQTT__RULES: JSON.stringify([{ filter: 'a/{x}/#', topic: 'in.{x}.{mqtt.client_id}' }]) });
    const c = await client(b.url, { clientId: 'dev/1 ü' });
    await c.publishAsync('a/b c/d', 'v', { qos: 1 });
    expect(b.store.listTopics()).toContain('in.b_c.dev.1__');
  });

  it('a Will sent when a client drops is appended and still delivered to local subscribers', async () => {
    const b = await bridge();
    const watcher = await client(b.url);
    await watcher.subscribeAsync('plain/+', { qos: 1 });
    const delivered = new Promise<string>((resolve) => watcher.once('message', (_t, payload) => resolve(payload.toString())));
    const willing = await connectAsync(b.url, { reconnectPeriod: 0, clientId: 'will-2', will: { topic: 'plain/lwt', payload: Buffer.from('gone'), qos: 1, retain: false } });
    willing.stream.destroy(); // no DISCONNECT: the broker must publish the Will [MQTT-3.1.2-8]
    expect(await delivered).toBe('gone');
    await expect.poll(() => (b.store.hasTopic('plain') ? readAll(b.store, 'plain').map((r) => r.value?.toString()) : [])).toEqual(['gone']);
    expect(readAll(b.store, 'plain')[0]?.headers['mqtt.client_id']).toBe('will-2');
  });

  it('a refusal is one JSON log line with the component, reason and client id', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const { dir, cleanup } = tempDir('weir-mqtt-');
    const b = await startTestBridge(dir, createLogger({ level: 'info', pretty: false, destination: sink }), { WEIR_MQTT__UNMATCHED: 'refuse' });
    cleanups.push(cleanup, () => b.close());
    const c = await client(b.url, { clientId: 'noisy' });
    const gone = closed(c);
    c.publish('x/y', 'v', { qos: 1 });
    await gone;
    const refusal = lines.find((l) => l.reason === 'unmatched');
    expect(refusal).toMatchObject({ component: 'mqtt', level: 40, clientId: 'noisy', topic: 'x/y', qos: 1 });
    expect(String(refusal?.msg)).toContain('disconnecting the client');
  });
});
