/**
 * A client with keep-alive 0 that sends nothing is disconnected after mqtt.idle_timeout_ms (a
 * half-open connection of a vanished device must not hold its slot forever); one that keeps
 * sending, and a client with a keep-alive of its own, are not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestBridge, type RunningBridge } from '../../helpers/mqtt-bridge.js';
import { RawClient, packet } from '../../helpers/mqtt-raw.js';
import { silentLogger, tempDir } from '../../helpers/store.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const PINGREQ = packet(0xc0, Buffer.alloc(0));

async function bridge(env: Record<string, string>): Promise<RunningBridge> {
  const { dir, cleanup } = tempDir('weir-mqtt-idle-');
  const b = await startTestBridge(dir, silentLogger, env);
  cleanups.push(cleanup, () => b.close());
  return b;
}

async function client(b: RunningBridge, id: string, keepalive: number): Promise<{ c: RawClient; closedAfter: () => number | undefined }> {
  const started = Date.now(); // before the CONNECT: its bytes are the last the broker reads
  const c = await RawClient.connect(b.bridge.address.port, id, { keepalive });
  cleanups.push(() => c.end());
  let closedAt: number | undefined;
  void c.closed.then(() => (closedAt = Date.now()));
  return { c, closedAfter: () => (closedAt === undefined ? undefined : closedAt - started) };
}

describe('mqtt.idle_timeout_ms', () => {
  it('disconnects a keep-alive 0 client that sends nothing, and only that one', async () => {
    const b = await bridge({ WEIR_MQTT__IDLE_TIMEOUT_MS: '400ms' });
    const silent = await client(b, 'silent', 0);
    const chatty = await client(b, 'chatty', 0);
    const keepalive = await client(b, 'with-keepalive', 60);
    const pinging = setInterval(() => chatty.c.write(PINGREQ), 100);
    cleanups.push(() => clearInterval(pinging));

    await expect.poll(() => silent.closedAfter(), { timeout: 3000 }).toBeDefined();
    expect(silent.closedAfter()).toBeGreaterThanOrEqual(400);
    expect(silent.closedAfter()).toBeLessThan(1500); // 1.25 × the timeout, plus a loaded machine
    await settle(1000); // 3.5 timeouts after the start
    expect(chatty.closedAfter()).toBeUndefined();
    expect(keepalive.closedAfter()).toBeUndefined();
    expect(b.bridge.stats().connections.closedIdle).toBe(1);
  });

  it('0 keeps a silent keep-alive 0 client connected', async () => {
    const b = await bridge({ WEIR_MQTT__IDLE_TIMEOUT_MS: '0' });
    const silent = await client(b, 'silent', 0);
    await settle(800);
    expect(silent.closedAfter()).toBeUndefined();
  });
});
