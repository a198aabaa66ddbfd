/**
 * When the store blocks (disk budget full under overflow policy `block`), PUBACKs wait, the
 * busy client's socket stops being read, and everything flows again once space is freed.
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

async function blockingBridge(budget: number, env: Record<string, string> = {}): Promise<RunningBridge> {
  const { dir, cleanup } = tempDir('weir-mqtt-bp-');
  const b = await startTestBridge(dir, silentLogger, { WEIR_MQTT__RULES: '[{filter: "t/#", topic: t}]', ...env }, {
    diskBudgetBytes: budget, blockTimeoutMs: 100, retentionCheckIntervalMs: 20,
  });
  cleanups.push(cleanup, () => b.close());
  await b.store.createTopic('t', { configs: { 'segment.bytes': '1000', 'weir.overflow.policy': 'block' } });
  return b;
}

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('back-pressure from the store', () => {
  it('a PUBACK is withheld while the disk budget is full and sent once retention frees space', async () => {
    const b = await blockingBridge(1500);
    const c = await connectAsync(b.url, { reconnectPeriod: 0 });
    cleanups.push(() => c.endAsync(true));
    let blocked: Promise<unknown> | undefined;
    for (let i = 0; i < 50 && blocked === undefined; i++) {
      const p = c.publishAsync('t/x', Buffer.alloc(100, i), { qos: 1 });
      const acked = await Promise.race([p.then(() => true), settle(400).then(() => false)]);
      if (!acked) blocked = p;
    }
    expect(blocked, 'the budget never filled').toBeDefined();
    expect(b.bridge.stats().retries).toBeGreaterThan(0);
    const stored = readAll(b.store, 't').length;
    expect(stored).toBe(b.bridge.stats().appended);

    await b.store.alterTopicConfigs('t', { 'retention.bytes': '0' });
    await blocked;
    expect(b.bridge.stats().appended).toBe(stored + 1);
  });

  it('a flooding client is not read while its appends wait; all its messages are acknowledged in order later', async () => {
    const b = await blockingBridge(20_000, { WEIR_MQTT__MAX_INFLIGHT_PER_CLIENT: '4' });
    const c = await connectAsync(b.url, { reconnectPeriod: 0 });
    cleanups.push(() => c.endAsync(true));
    const TOTAL = 400;
    const order: number[] = [];
    const all = Promise.all(Array.from({ length: TOTAL }, (_, i) =>
      c.publishAsync('t/flood', Buffer.alloc(1000, i % 256), { qos: 1 }).then(() => order.push(i))));
    await settle(500);
    const during = b.bridge.stats();
    // Stalled: only what fits the budget was appended, and aedes stopped parsing the socket
    // after a chunk, so far fewer than TOTAL packets reached the bridge.
    expect(during.appended).toBeLessThan(25);
    expect(during.received[1]).toBeLessThan(TOTAL / 2);
    expect(order.length).toBe(during.appended);

    await b.store.alterTopicConfigs('t', { 'retention.bytes': '0' });
    await all;
    expect(b.bridge.stats().appended).toBe(TOTAL);
    // [MQTT-4.6.0-2] PUBACKs in the order the PUBLISHes were sent.
    expect(order).toEqual(Array.from({ length: TOTAL }, (_, i) => i));
  });

  it('closing while a PUBACK is withheld finishes promptly and sends no PUBACK for the unstored message', async () => {
    const b = await blockingBridge(1500);
    const c = await connectAsync(b.url, { reconnectPeriod: 0 });
    cleanups.push(() => c.endAsync(true));
    let acked = 0;
    for (let i = 0; i < 50; i++) c.publish('t/x', Buffer.alloc(100, i), { qos: 1 }, (err) => { if (!err) acked++; });
    await expect.poll(() => b.bridge.stats().retries).toBeGreaterThan(0);
    const started = Date.now();
    await b.bridge.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(acked).toBe(b.bridge.stats().appended);
    expect(readAll(b.store, 't')).toHaveLength(acked);
  });
});
