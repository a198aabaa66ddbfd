/**
 * Exact bytes on the wire: QoS 2 retransmissions, malformed and oversize packets, connection
 * limits and refusals. Bad input costs only its sender: another client keeps publishing.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { isWeirError } from '../../../src/errors.js';
import { readAll, startTestBridge, type RunningBridge } from '../../helpers/mqtt-bridge.js';
import { RawClient, packet, publishPacket, pubrelPacket } from '../../helpers/mqtt-raw.js';
import type { StoreOptions } from '../../../src/store/types.js';
import { silentLogger, tempDir } from '../../helpers/store.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function bridge(env: Record<string, string> = {}, store: Partial<StoreOptions> = {}): Promise<RunningBridge> {
  const { dir, cleanup } = tempDir('weir-mqtt-');
  const running = await startTestBridge(dir, silentLogger, { WEIR_MQTT__RULES: '[{filter: "t/#", topic: t}]', ...env }, store);
  cleanups.push(cleanup, () => running.close());
  return running;
}

async function raw(b: RunningBridge, clientId?: string): Promise<RawClient> {
  const c = await RawClient.connect(b.bridge.address.port, clientId);
  cleanups.push(() => c.end());
  return c;
}

async function bystander(b: RunningBridge): Promise<MqttClient> {
  const c = await connectAsync(b.url, { reconnectPeriod: 0 });
  cleanups.push(() => c.endAsync(true));
  return c;
}

const PUBREC = (id: number): Buffer => Buffer.from([0x50, 0x02, id >> 8, id & 0xff]);
const PUBCOMP = (id: number): Buffer => Buffer.from([0x70, 0x02, id >> 8, id & 0xff]);

describe('QoS 2 exactly once into the log [MQTT-4.3.3]', () => {
  it('a DUP retransmission before PUBREL is answered with PUBREC and not appended again', async () => {
    const b = await bridge();
    const c = await raw(b, 'q2');
    c.write(publishPacket('t/a', Buffer.from('first'), { qos: 2, id: 7 }));
    expect(await c.read(4)).toEqual(PUBREC(7));
    c.write(publishPacket('t/a', Buffer.from('first'), { qos: 2, id: 7, dup: true }));
    expect(await c.read(4)).toEqual(PUBREC(7));
    expect(readAll(b.store, 't').map((r) => r.value?.toString())).toEqual(['first']);
    expect(b.bridge.stats().duplicates).toBe(1);

    // After PUBREL the id is free: the same id without DUP is a new message.
    c.write(pubrelPacket(7));
    expect(await c.read(4)).toEqual(PUBCOMP(7));
    c.write(publishPacket('t/a', Buffer.from('second'), { qos: 2, id: 7 }));
    expect(await c.read(4)).toEqual(PUBREC(7));
    expect(readAll(b.store, 't').map((r) => r.value?.toString())).toEqual(['first', 'second']);
  });

  it('a DUP sent in the same TCP chunk as its original is appended once', async () => {
    const b = await bridge();
    const c = await raw(b, 'q2b');
    c.write(Buffer.concat([
      publishPacket('t/a', Buffer.from('x'), { qos: 2, id: 9 }),
      publishPacket('t/a', Buffer.from('x'), { qos: 2, id: 9, dup: true }),
    ]));
    expect(await c.read(8)).toEqual(Buffer.concat([PUBREC(9), PUBREC(9)]));
    expect(readAll(b.store, 't')).toHaveLength(1);
  });
});

describe('bad input costs only its sender', () => {
  it('a malformed packet closes that connection; another client keeps publishing', async () => {
    const b = await bridge();
    const other = await bystander(b);
    const c = await raw(b, 'bad');
    c.write(packet(0x60, Buffer.from([0, 1]))); // PUBREL with reserved flags 0000 [MQTT-3.6.1-1]
    await c.closed;
    await other.publishAsync('t/ok', 'v', { qos: 1 });
    expect(readAll(b.store, 't')).toHaveLength(1);
  });

  it('a packet over mqtt.max_packet_size closes the connection at its header, before the body is sent', async () => {
    const b = await bridge({ WEIR_MQTT__MAX_PACKET_SIZE: '1KiB' });
    const other = await bystander(b);
    const c = await raw(b, 'big');
    // PUBLISH claiming 10 MB: only the fixed header is sent.
    c.write(Buffer.from([0x32, 0x80, 0xad, 0xe2, 0x04]));
    await c.closed;
    expect(b.bridge.stats().connections.closedOversize).toBe(1);
    await other.publishAsync('t/ok', Buffer.alloc(900), { qos: 1 });
  });

  it('a Remaining Length of more than four bytes closes the connection [MQTT-2.2.3]', async () => {
    const b = await bridge();
    const c = await raw(b);
    c.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]));
    await c.closed;
    expect(b.bridge.stats().connections.closedOversize).toBe(1);
  });

  it('a topic of 10k levels closes only that connection', async () => {
    const b = await bridge();
    const other = await bystander(b);
    const c = await raw(b, 'deep');
    c.write(publishPacket(`t${'/x'.repeat(10_000)}`, Buffer.from('v'), { qos: 1, id: 1 }));
    await c.closed;
    await other.publishAsync('t/ok', 'v', { qos: 1 });
    expect(readAll(b.store, 't')).toHaveLength(1);
  });

  it('a message over the topic max.message.bytes is refused and its sender disconnected', async () => {
    const b = await bridge({ WEIR_TOPIC_DEFAULTS__MAX_MESSAGE_BYTES: '300', WEIR_MQTT__MAX_PACKET_SIZE: '64KiB' });
    const other = await bystander(b);
    const c = await raw(b, 'large');
    c.write(publishPacket('t/a', Buffer.alloc(2000), { qos: 1, id: 1 }));
    await c.closed;
    expect(b.bridge.stats().refused).toEqual({ MESSAGE_TOO_LARGE: 1 });
    await other.publishAsync('t/ok', 'small', { qos: 1 });
  });

  it('a rule without a key into a compacted topic: each message refused (INVALID_RECORD, counted), its sender disconnected, the broker carries on', async () => {
    const b = await bridge({
      WEIR_TOPIC_DEFAULTS__CLEANUP_POLICY: 'compact',
      WEIR_MQTT__RULES: '[{filter: "t/#", topic: t}, {filter: "k/#", topic: k, key: "{mqtt.topic}"}]',
    });
    const other = await bystander(b);
    await other.publishAsync('k/ok', 'v', { qos: 1 });
    // The first append creates the topic (the slow path), the second finds it (the fast path).
    for (const id of ['nokey-1', 'nokey-2']) {
      const c = await raw(b, id);
      c.write(publishPacket('t/a', Buffer.from('v'), { qos: 1, id: 1 }));
      await c.closed;
    }
    expect(b.bridge.stats().refused).toEqual({ INVALID_RECORD: 2 });
    expect(readAll(b.store, 't')).toHaveLength(0);
    await other.publishAsync('k/ok', 'v2', { qos: 1 });
    expect(readAll(b.store, 'k').map((r) => r.key?.toString())).toEqual(['k/ok', 'k/ok']);
  });

  it('reject-new at the disk budget disconnects the sender without a PUBACK', async () => {
    const b = await bridge({ 'WEIR_TOPIC_DEFAULTS__WEIR_OVERFLOW_POLICY': 'reject-new' }, { diskBudgetBytes: 900 });
    const c = await raw(b, 'full');
    let id = 1;
    for (;;) {
      c.write(publishPacket('t/a', Buffer.alloc(100), { qos: 1, id }));
      try {
        await c.read(4);
      } catch {
        break; // closed: refused
      }
      id++;
    }
    expect(id).toBeGreaterThan(1);
    expect(readAll(b.store, 't')).toHaveLength(id - 1);
    expect(b.bridge.stats().refused).toEqual({ DISK_BUDGET_FULL: 1 });
  });

  it('connections beyond mqtt.max_connections are closed at once; the others carry on', async () => {
    const b = await bridge({ WEIR_MQTT__MAX_CONNECTIONS: '3' });
    const clients = [await bystander(b), await bystander(b), await bystander(b)];
    const extra = await raw(b);
    await extra.closed;
    expect(b.bridge.stats().connections.rejectedMaxConnections).toBe(1);
    await Promise.all(clients.map((c, i) => c.publishAsync(`t/${i}`, 'v', { qos: 1 })));
    expect(readAll(b.store, 't')).toHaveLength(3);
  });
});

describe('memory and time limits', () => {
  it('past mqtt.max_retained_messages a retained message is logged and delivered but not retained', async () => {
    const b = await bridge({ WEIR_MQTT__MAX_RETAINED_MESSAGES: '2' });
    const c = await bystander(b);
    for (const t of ['t/1', 't/2', 't/3']) await c.publishAsync(t, `r-${t}`, { qos: 1, retain: true });
    await c.publishAsync('t/1', 'r-t/1-again', { qos: 1, retain: true }); // an existing topic is still updated
    // aedes 1.x sends the PUBACK before it routes (and stores the retained message); it reads the
    // client's next PUBLISH only once that is done. Without this fence the late subscriber could
    // get r-t/1-again twice: live, and from the retained store.
    await c.publishAsync('fence', 'x', { qos: 1 });
    expect(b.bridge.stats().retainRefused).toBe(1);
    expect(readAll(b.store, 't').every((r) => r.headers['mqtt.retain'] === '1')).toBe(true);
    const late = await bystander(b);
    const got: string[] = [];
    late.on('message', (topic, payload) => got.push(`${topic}=${payload.toString()}`));
    await late.subscribeAsync('t/#', { qos: 1 });
    await expect.poll(() => got.sort()).toEqual(['t/1=r-t/1-again', 't/2=r-t/2']);
  });

  it('a connection that sends no CONNECT is closed after mqtt.connect_timeout_ms', async () => {
    const b = await bridge({ WEIR_MQTT__CONNECT_TIMEOUT_MS: '200ms' });
    const c = await raw(b);
    const started = Date.now();
    await c.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('with mqtt.max_keepalive_s, a CONNECT asking for no keep-alive is refused', async () => {
    const b = await bridge({ WEIR_MQTT__MAX_KEEPALIVE_S: '120' });
    await expect(connectAsync(b.url, { reconnectPeriod: 0, keepalive: 0 })).rejects.toThrow();
    const ok = await connectAsync(b.url, { reconnectPeriod: 0, keepalive: 60 });
    await ok.endAsync(true);
  });
});

describe('listener safety', () => {
  it('a non-loopback listener refuses to start without allow_anonymous', async () => {
    const { dir, cleanup } = tempDir('weir-mqtt-');
    cleanups.push(cleanup);
    const err: unknown = await startTestBridge(dir, silentLogger, { WEIR_MQTT__LISTEN: '0.0.0.0:0' }).catch((e: unknown) => e);
    expect(isWeirError(err, 'CONFIG_INVALID')).toBe(true);
    expect(String(err)).toMatch(/mqtt\.allow_anonymous/);
  });

  it('starts on a non-loopback address with allow_anonymous: true', async () => {
    const b = await bridge({ WEIR_MQTT__LISTEN: '0.0.0.0:0', WEIR_MQTT__ALLOW_ANONYMOUS: 'true' });
    expect(b.bridge.address.host).toBe('0.0.0.0');
  });
});
