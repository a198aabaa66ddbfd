/**
 * A persistent session taken over [MQTT-3.1.4-2]: a subscriber that stopped reading (its QoS 1
 * deliveries past its outgoing budget stay in its session queue) reconnects before the broker has
 * seen its old connection close, while messages are still being published to it. Every queued
 * message arrives on the new connection, which the broker does not close; the ones published
 * meanwhile arrive too (those past the new connection's budget on the next connection).
 *
 * The old connection gave packet ids to the messages it wrote; the queue keeps them for the replay
 * [MQTT-4.4.0-1]. The new connection's aedes client object counts ids on its own and gives them to
 * the live deliveries and the rest of the replay. aedes starts each client object's count at a
 * random id, so the two ranges overlap only now and then; here `Math.random` is pinned while the
 * bridge runs, so both start at the same id and overlap every time. A PUBACK then forgot whichever
 * queued message held its id first, and the replay, finding one gone, closed the connection.
 */
import mqtt, { connectAsync, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTestBridge } from '../../helpers/mqtt-bridge.js';
import { stalledSubscriber } from '../../helpers/mqtt-raw.js';
import { silentLogger, tempDir } from '../../helpers/store.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** A persistent-session MQTT.js client recording the index in each payload, from its CONNACK on. */
async function connect(url: string): Promise<{
  client: MqttClient; seen: Set<number>; closed: boolean; received(n: number, also?: Set<number>): boolean; missing(n: number): number[];
}> {
  const client = mqtt.connect(url, { clientId: 'persistent', clean: false, reconnectPeriod: 0 });
  cleanups.push(() => client.endAsync(true));
  const seen = new Set<number>();
  client.on('message', (_topic, p: Buffer) => seen.add(Number(p.subarray(0, p.indexOf(0x3a)).toString())));
  const state = {
    client, seen, closed: false,
    missing: (n: number) => Array.from({ length: n }, (_, i) => i).filter((i) => !seen.has(i)),
    received: (n: number, also = new Set<number>()) => Array.from({ length: n }, (_, i) => i).every((i) => seen.has(i) || also.has(i)),
  };
  client.on('close', () => { state.closed = true; });
  await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject));
  return state;
}

const payload = (i: number): Buffer => Buffer.concat([Buffer.from(`${i}:`), Buffer.alloc(1024, 0x62)]);

describe('a persistent session taken over by a new connection', () => {
  it('gets every queued QoS 1 message on the new connection, which stays open; none is lost', async () => {
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    cleanups.push(() => random.mockRestore());
    const { dir, cleanup } = tempDir('weir-mqtt-takeover-');
    const b = await startTestBridge(dir, silentLogger, { WEIR_MQTT__RULES: '[{filter: "t/#", topic: t}]', WEIR_MQTT__MAX_OUTGOING_BYTES_PER_CLIENT: '16KiB' });
    cleanups.push(cleanup, () => b.close());
    const persistent = await stalledSubscriber(b.bridge.address.port, 'persistent', 'pq/#', 1, false);
    cleanups.push(() => persistent.end());
    const publisher = await connectAsync(b.url, { clientId: 'pub', reconnectPeriod: 0 });
    cleanups.push(() => publisher.endAsync(true));
    const QUEUED = 300;
    const LIVE = 50;
    await Promise.all(Array.from({ length: QUEUED }, (_, i) => publisher.publishAsync('pq/x', payload(i), { qos: 1 })));
    await expect.poll(() => b.bridge.stats().deliveries.deferredSlowSubscriber, { timeout: 15_000 }).toBeGreaterThan(0);

    persistent.end();
    // At once: the broker has not seen the old connection close yet (a takeover).
    const reconnecting = connect(b.url);
    const published = Promise.all(Array.from({ length: LIVE }, (_, i) => publisher.publishAsync('pq/x', payload(QUEUED + i), { qos: 1 })));
    const back = await reconnecting;
    await published;
    await expect.poll(() => back.received(QUEUED) || back.closed, { timeout: 20_000 }).toBe(true);
    expect({ missing: back.missing(QUEUED), closed: back.closed }).toEqual({ missing: [], closed: false });

    // The live messages past the new connection's budget stay queued for the next connection.
    await back.client.endAsync();
    await expect.poll(() => b.bridge.stats().connections.open, { timeout: 15_000 }).toBe(1);
    const again = await connect(b.url);
    await expect.poll(() => again.received(QUEUED + LIVE, back.seen), { timeout: 20_000 }).toBe(true);
    await expect.poll(() => b.bridge.stats().persistence?.queued, { timeout: 5_000 }).toBe(0);
  }, 30_000);
});
