/**
 * A subscriber that stops reading costs only itself ("The hostile field"). A `#` subscriber at
 * QoS 0 stops reading its socket while a QoS 0 publisher floods; then it resets the connection.
 * The broker must survive the reset (the deliveries queued behind the stalled one used to be
 * released by a recursion as deep as the queue: RangeError, process dead).
 */
import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestBridge, type RunningBridge } from '../../helpers/mqtt-bridge.js';
import { RawClient, publishPacket, subscribePacket } from '../../helpers/mqtt-raw.js';
import { silentLogger, tempDir } from '../../helpers/store.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function bridge(env: Record<string, string> = {}): Promise<RunningBridge> {
  const { dir, cleanup } = tempDir('weir-mqtt-slow-');
  const b = await startTestBridge(dir, silentLogger, { WEIR_MQTT__RULES: '[{filter: "t/#", topic: t}]', ...env });
  cleanups.push(cleanup, () => b.close());
  return b;
}

/** A raw `#` subscriber at QoS 0 that has stopped reading its socket after the SUBACK. */
async function stalledSubscriber(port: number, clientId: string): Promise<RawClient> {
  const sub = await RawClient.connect(port, clientId);
  cleanups.push(() => sub.end());
  sub.write(subscribePacket('#', 0));
  expect((await sub.read(5)).toString('hex')).toBe('9003000100');
  sub.socket.pause();
  return sub;
}

/** Raw publishers, each writing a burst of small QoS 0 PUBLISHes at once. */
async function burstPublishers(port: number, count: number, perPublisher: number): Promise<RawClient[]> {
  const burst = Buffer.concat(Array.from({ length: perPublisher }, () => publishPacket('t/burst', Buffer.alloc(100, 0x61), { qos: 0 })));
  const publishers: RawClient[] = [];
  for (let i = 0; i < count; i++) {
    const p = await RawClient.connect(port, `burst-${i}`);
    cleanups.push(() => p.end());
    p.write(burst);
    publishers.push(p);
  }
  return publishers;
}

describe('a subscriber that stops reading', () => {
  it('resetting its connection while deliveries are queued behind it does not take the broker down', async () => {
    const b = await bridge();
    const port = b.bridge.address.port;
    const sub = await stalledSubscriber(port, 'stalled');
    await burstPublishers(port, 50, 2000);
    // 50 publishers × 2000 messages: the bus holds 100 deliveries to the stalled subscriber and
    // queues the rest behind them.
    await expect.poll(() => b.bridge.stats().received[0] ?? 0, { timeout: 10_000 }).toBeGreaterThan(1000);
    await settle(500);

    sub.socket.resetAndDestroy();
    await settle(1000);
    // Still serving: a new client gets its PUBACK.
    const canary = await connectAsync(b.url, { clientId: 'canary', reconnectPeriod: 0 });
    cleanups.push(() => canary.endAsync(true));
    await canary.publishAsync('t/canary', 'alive', { qos: 1 });
  });
});
