/**
 * MQTT over WebSocket (for dashboards in a browser): same log, same limits.
 */
import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { readAll, startTestBridge, type RunningBridge } from '../../helpers/mqtt-bridge.js';
import { silentLogger, tempDir } from '../../helpers/store.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function bridge(env: Record<string, string> = {}): Promise<RunningBridge> {
  const { dir, cleanup } = tempDir('weir-mqtt-ws-');
  const running = await startTestBridge(dir, silentLogger, { WEIR_MQTT__WS_LISTEN: '127.0.0.1:0', ...env });
  cleanups.push(cleanup, () => running.close());
  return running;
}

describe('WebSocket listener', () => {
  it('accepts QoS 1 publishes over ws:// into the log', async () => {
    const b = await bridge();
    const c = await connectAsync(`ws://127.0.0.1:${b.bridge.wsAddress!.port}/mqtt`, { reconnectPeriod: 0 });
    cleanups.push(() => c.endAsync(true));
    await c.publishAsync('dash/x', 'from-browser', { qos: 1 });
    expect(readAll(b.store, 'mqtt').map((r) => r.value?.toString())).toEqual(['from-browser']);
  });

  it('a packet over mqtt.max_packet_size closes only that WebSocket', async () => {
    const b = await bridge({ WEIR_MQTT__MAX_PACKET_SIZE: '1KiB' });
    const url = `ws://127.0.0.1:${b.bridge.wsAddress!.port}/mqtt`;
    const big = await connectAsync(url, { reconnectPeriod: 0 });
    const ok = await connectAsync(url, { reconnectPeriod: 0 });
    cleanups.push(() => big.endAsync(true), () => ok.endAsync(true));
    const closed = new Promise<void>((resolve) => big.once('close', () => resolve()));
    big.publish('dash/big', Buffer.alloc(4096), { qos: 1 });
    await closed;
    await ok.publishAsync('dash/ok', 'small', { qos: 1 });
    expect(readAll(b.store, 'mqtt').map((r) => r.value?.toString())).toEqual(['small']);
  });

  it('a non-loopback WebSocket listener needs authentication', async () => {
    const { dir, cleanup } = tempDir('weir-mqtt-ws-');
    cleanups.push(cleanup);
    const err: unknown = await startTestBridge(dir, silentLogger, { WEIR_MQTT__WS_LISTEN: '0.0.0.0:0' }).catch((e: unknown) => e);
    expect(String(err)).toContain('mqtt.ws_listen is 0.0.0.0:0');
  });
});
