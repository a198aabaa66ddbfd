/**
 * A client that connects, publishes once and disconnects at once (`mosquitto_pub -m hi`) must
 * still have its message stored, at every QoS, on a topic that does not exist yet (the append
 * waits for the topic's creation) and on one that does, with MQTT-created topics' 1 s flush window.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readAll, startTestBridge, type RunningBridge } from '../../helpers/mqtt-bridge.js';
import { silentLogger, tempDir } from '../../helpers/store.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function bridge(): Promise<RunningBridge> {
  const { dir, cleanup } = tempDir('weir-mqtt-first-');
  // The flush window MQTT-created topics get by default: a commit waits up to 1 s.
  const running = await startTestBridge(dir, silentLogger, { WEIR_MQTT__CREATED_TOPIC_FLUSH_MS: '1000' });
  cleanups.push(cleanup, () => running.close());
  return running;
}

/** One MQTT 3.1.1 packet (remaining length < 128, enough here). */
function packet(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first, body.length]), body]);
}

function str(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

/**
 * What `mosquitto_pub -q QOS -t TOPIC -m PAYLOAD` does, over a raw socket: CONNECT, wait for the
 * CONNACK, then PUBLISH and DISCONNECT in one write and close, without waiting for any ack.
 */
async function publishAndLeave(url: string, topic: string, payload: string, qos: 0 | 1 | 2): Promise<void> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  const clientId = `oneshot-${qos}-${Math.random().toString(36).slice(2, 8)}`;
  // protocol "MQTT", level 4, flags: clean session, keep-alive 60
  socket.write(packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 0x02, 0, 60]), str(clientId)])));
  await new Promise<void>((resolve, reject) => {
    socket.once('data', (d: Buffer) => (d[0] === 0x20 && d[3] === 0 ? resolve() : reject(new Error(`no CONNACK: ${d.toString('hex')}`))));
    socket.once('error', reject);
  });
  const id = qos === 0 ? Buffer.alloc(0) : Buffer.from([0, 1]);
  const publish = packet(0x30 | (qos << 1), Buffer.concat([str(topic), id, Buffer.from(payload)]));
  await new Promise<void>((resolve) => socket.end(Buffer.concat([publish, Buffer.from([0xe0, 0])]), () => resolve()));
  socket.on('error', () => undefined); // the broker's late PUBACK/PUBREC may meet a closed socket
}

/** Waits until the bridge has seen `n` PUBLISHes and the store's write queue is empty. */
async function settled(b: RunningBridge, n: number): Promise<void> {
  await expect.poll(() => b.bridge.stats().received.reduce((a, x) => a + x, 0), { timeout: 5000 }).toBe(n);
  await expect.poll(() => b.bridge.stats().appended + Object.values(b.bridge.stats().refused).reduce((a, x) => a + x, 0), { timeout: 5000 }).toBe(n);
  await expect.poll(() => b.store.stats().queuedRecords, { timeout: 5000 }).toBe(0);
}

describe('the first message of a client that disconnects at once', () => {
  it.each([0, 1, 2] as const)('QoS %i: stored on a new topic and on an existing one (default rule: log topic mqtt)', async (qos) => {
    const b = await bridge();
    await publishAndLeave(b.url, 'hello/world', 'hi', qos);
    // Without the fix the append was abandoned once the topic was created: received 1, appended 0.
    await expect.poll(() => b.bridge.stats().received[qos], { timeout: 5000 }).toBe(1);
    await expect.poll(() => b.bridge.stats().appended, { timeout: 5000 }).toBe(1);
    await settled(b, 1);
    expect(readAll(b.store, 'mqtt').map((r) => r.value?.toString())).toEqual(['hi']);

    await publishAndLeave(b.url, 'hello/world', 'again', qos);
    await settled(b, 2);
    expect(readAll(b.store, 'mqtt').map((r) => r.value?.toString())).toEqual(['hi', 'again']);
    expect(b.bridge.stats().refused).toEqual({});
  });
});
