/**
 * MQTT state survives a real restart of `weir start` (the built dist, in a child process, MQTT on
 * port 0, default `mqtt.persistence: lmdb`): a retained message reaches a subscriber that comes
 * after the restart; a persistent session (clean=false) that went away gets the QoS 1 messages
 * published while it was gone, in order, after a SIGKILL and after a graceful stop; and its
 * subscriptions hold without a new SUBSCRIBE.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/store.js';
import { startWeirProcess, type WeirProcess } from '../../helpers/weir-process.js';
import { until } from '../../helpers/until.js';

interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  qos: number;
}

/** Connects and collects every message from the first packet on (queued ones arrive right after CONNACK). */
async function connect(url: string, options: IClientOptions): Promise<{ client: MqttClient; received: Received[]; sessionPresent: boolean }> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, protocolVersion: 4, ...options });
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos }));
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  return { client, received, sessionPresent: connack.sessionPresent };
}

const ENV = { WEIR_MQTT__ENABLED: 'true', WEIR_MQTT__LISTEN: '127.0.0.1:0' };

describe('MQTT state across a Weir restart', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('keeps retained messages, persistent sessions, their subscriptions and queued QoS 1 messages', async () => {
    const t = tempDir('weir-mqtt-restart-');
    cleanups.push(t.cleanup);
    const start = async (): Promise<{ weir: WeirProcess; url: string }> => {
      const weir = await startWeirProcess(t.dir, { env: ENV });
      cleanups.push(async () => {
        if (weir.child.exitCode === null && weir.child.signalCode === null) await weir.kill();
      });
      expect(weir.mqtt).not.toBeNull();
      return { weir, url: `mqtt://${weir.mqtt}` };
    };

    // 1. A dashboard with a persistent session subscribes, then goes away.
    let { weir, url } = await start();
    const dash = await connect(url, { clientId: 'dash-1', clean: false });
    expect(dash.sessionPresent).toBe(false);
    await dash.client.subscribeAsync('plant/+/temp', { qos: 1 });
    await dash.client.endAsync();

    // 2. While it is away: a retained config and five readings. The last PUBACK is a fence: aedes
    //    reads a socket's next packet only after the previous one was fully handled (queued on
    //    disk for the session), so once it is acknowledged, everything before it is stored.
    const sensor = await connect(url, { clientId: 'sensor-1', clean: true });
    await sensor.client.publishAsync('plant/config', 'interval=5', { qos: 1, retain: true });
    for (let i = 0; i < 5; i++) await sensor.client.publishAsync('plant/a/temp', `reading-${i}`, { qos: 1 });
    await sensor.client.publishAsync('fence', 'x', { qos: 1 });
    await sensor.client.endAsync();

    // 3. SIGKILL, and start again on the same data directory.
    await weir.kill('SIGKILL');
    ({ weir, url } = await start());

    // 4. A new subscriber gets the retained message, flagged retained [MQTT-3.3.1-8].
    const late = await connect(url, { clientId: 'late-1', clean: true });
    await late.client.subscribeAsync('plant/config', { qos: 1 });
    await until('the retained message', () => late.received.length === 1, 10_000);
    expect(late.received[0]).toEqual({ topic: 'plant/config', payload: 'interval=5', retain: true, qos: 1 });
    await late.client.endAsync();

    // 5. The dashboard comes back: its session is there, with the queued readings in order.
    const back = await connect(url, { clientId: 'dash-1', clean: false });
    expect(back.sessionPresent).toBe(true);
    await until('five queued readings', () => back.received.length === 5, 10_000);
    expect(back.received.map((r) => r.payload)).toEqual([0, 1, 2, 3, 4].map((i) => `reading-${i}`));
    expect(back.received.every((r) => r.topic === 'plant/a/temp' && r.qos === 1)).toBe(true);

    // 6. Its subscription holds without a new SUBSCRIBE: live messages arrive.
    const sensor2 = await connect(url, { clientId: 'sensor-2', clean: true });
    await sensor2.client.publishAsync('plant/b/temp', 'live', { qos: 1 });
    await until('a live message on the restored subscription', () => back.received.length === 6, 10_000);
    expect(back.received[5]?.payload).toBe('live');
    await back.client.endAsync();

    // 7. Away again, two more readings, then a graceful stop (SIGTERM) and a third start.
    await sensor2.client.publishAsync('plant/c/temp', 'after-1', { qos: 1 });
    await sensor2.client.publishAsync('plant/c/temp', 'after-2', { qos: 1 });
    await sensor2.client.endAsync();
    expect((await weir.kill('SIGTERM')).code).toBe(0);
    ({ weir, url } = await start());
    const third = await connect(url, { clientId: 'dash-1', clean: false });
    expect(third.sessionPresent).toBe(true);
    await until('two readings queued before the graceful stop', () => third.received.length === 2, 10_000);
    expect(third.received.map((r) => r.payload)).toEqual(['after-1', 'after-2']);
    // Delivered messages were acknowledged: nothing is queued twice. Queued messages go out
    // right after CONNACK, before live ones, so a live marker arriving first proves none is left.
    await third.client.endAsync();
    const fourth = await connect(url, { clientId: 'dash-1', clean: false });
    const sensor3 = await connect(url, { clientId: 'sensor-3', clean: true });
    await sensor3.client.publishAsync('plant/d/temp', 'marker', { qos: 1 });
    await until('the live marker', () => fourth.received.length >= 1, 10_000);
    expect(fourth.received.map((r) => r.payload)).toEqual(['marker']);
    await sensor3.client.endAsync();
    await fourth.client.endAsync();
  }, 60_000);
});
