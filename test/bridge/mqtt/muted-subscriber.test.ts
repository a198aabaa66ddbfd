/**
 * A subscriber past its outgoing budget is muted until its socket drains: the message bus skips
 * its listener instead of handing aedes each delivery only for the budget hook to drop it.
 *  - a clean `#` subscriber that stops reading: aedes's authorizeForward is asked about it only
 *    until the mute starts, and every message it misses is still counted as dropped, once;
 *  - once it reads again and its socket drains, it gets new messages;
 *  - a persistent session muted by QoS 0 drops still has its QoS 1 messages kept in its queue.
 */
import { Aedes, type Client } from 'aedes';
import { connectAsync } from 'mqtt';
import net from 'node:net';
import type { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalEmitter } from '../../../bridge/mqtt/local-emitter.js';
import { DeliveryStats, OutgoingBudget } from '../../../bridge/mqtt/outgoing-budget.js';
import { startTestBridge } from '../../helpers/mqtt-bridge.js';
import { RawClient, publishPacket, stalledSubscriber } from '../../helpers/mqtt-raw.js';
import type { Logger } from '../../../src/logger.js';
import { silentLogger, tempDir } from '../../helpers/store.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** aedes (in-memory persistence) with the bridge's bus and budget, counting the hook's answers. */
async function broker(maxBytes: number): Promise<{
  port: number; aedes: Aedes; stats: DeliveryStats; answers: Map<string, { allowed: number; refused: number }>; warnings: Record<string, unknown>[];
}> {
  const stats = new DeliveryStats();
  const warnings: Record<string, unknown>[] = [];
  const log = { warn: (fields: Record<string, unknown>) => warnings.push(fields) } as unknown as Logger;
  const budget = new OutgoingBudget(maxBytes, false, stats, log);
  const answers = new Map<string, { allowed: number; refused: number }>();
  const aedes = new Aedes({
    mq: new LocalEmitter(100, { awaitListeners: false, mutes: budget }),
    authorizeForward: (client, packet) => {
      const answer = budget.authorizeForward(client, packet);
      let counts = answers.get(client.id);
      if (counts === undefined) answers.set(client.id, (counts = { allowed: 0, refused: 0 }));
      if (answer === null) counts.refused++;
      else counts.allowed++;
      return answer;
    },
  });
  await aedes.listen();
  const server = net.createServer((socket) => aedes.handle(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () => new Promise<void>((resolve) => aedes.close(() => resolve())),
    () => new Promise<void>((resolve) => server.close(() => resolve())),
  );
  return { port: (server.address() as net.AddressInfo).port, aedes, stats, answers, warnings };
}

/** `stalledSubscriber`, closed after the test. */
async function stalled(port: number, clientId: string, filter: string, qos: 0 | 1, clean: boolean): Promise<RawClient> {
  const sub = await stalledSubscriber(port, clientId, filter, qos, clean);
  cleanups.push(() => sub.end());
  return sub;
}

/**
 * A raw publisher writing `count` QoS 0 PUBLISHes of 1 KiB, `perWave` at a time every 2 ms: aedes
 * delivers each write in a turn of its own, and a wave within the bytes the budget allows in one
 * turn fills the subscriber's socket (a whole burst at once is mostly dropped before anything is
 * written, and with the socket empty, no 'drain' is coming: nothing is muted).
 */
async function publishInWaves(port: number, topic: string, count: number, perWave: number): Promise<void> {
  const publisher = await RawClient.connect(port, `waves-${topic}`);
  cleanups.push(() => publisher.end());
  const wave = Buffer.concat(Array.from({ length: perWave }, () => publishPacket(topic, Buffer.alloc(1024, 0x61), { qos: 0 })));
  for (let sent = 0; sent < count; sent += perWave) {
    publisher.write(wave);
    await settle(2);
  }
}

describe('a muted subscriber', () => {
  it('costs aedes no delivery while muted, has every missed message counted once, and gets messages again once it has read', async () => {
    const { port, aedes, stats, answers, warnings } = await broker(64 * 1024);
    const skipped = vi.spyOn(OutgoingBudget.prototype, 'skipped');
    const subscriber = await stalled(port, 'stalled', '#', 0, true);

    // 10 MiB: more than the kernel's socket buffers take, so most of it is past the budget.
    const SENT = 10_000;
    await publishInWaves(port, 't/waves', SENT, 40);
    const seen = (): number => (answers.get('stalled')?.allowed ?? 0) + stats.droppedSlowSubscriber;
    await expect.poll(seen, { timeout: 20_000 }).toBe(SENT);
    const { allowed, refused } = answers.get('stalled')!;
    expect(stats.droppedSlowSubscriber).toBeGreaterThan(SENT / 2);
    // Without the mute aedes asks about every message and each drop is a refusal here. On a
    // loaded machine waves arrive together and more of them are refused before the socket is full
    // (no 'drain' promised, nothing muted): 15 % of the drops were seen, so the bound is a half.
    expect(refused).toBeLessThan(stats.droppedSlowSubscriber / 2);
    expect(skipped).toHaveBeenCalledTimes(stats.droppedSlowSubscriber - refused);
    expect(allowed + refused + skipped.mock.calls.length).toBe(SENT);
    // One line per 10 s, the first at once; the skipped ones are counted on the next line.
    expect(warnings[0]).toMatchObject({ clientId: 'stalled', maxBytes: 64 * 1024 });
    expect(warnings.length).toBeLessThanOrEqual(3);

    // It reads again: once what was queued for it has gone out, the mute ends.
    const received: Buffer[] = [];
    subscriber.socket.on('data', (chunk: Buffer) => received.push(chunk));
    subscriber.socket.resume();
    const conn = (aedes as unknown as { clients: Record<string, Client> }).clients['stalled']!.conn as unknown as Writable;
    await expect.poll(() => conn.writableLength, { timeout: 10_000 }).toBe(0);
    await settle(50);
    const publisher = await connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'after', reconnectPeriod: 0 });
    cleanups.push(() => publisher.endAsync(true));
    const dropped = stats.droppedSlowSubscriber;
    for (let i = 0; i < 10; i++) await publisher.publishAsync('t/after', `after-${i}`, { qos: 1 });
    await expect.poll(() => Buffer.concat(received).includes('after-9'), { timeout: 10_000 }).toBe(true);
    const all = Buffer.concat(received);
    for (let i = 0; i < 10; i++) expect(all.includes(`after-${i}`)).toBe(true);
    expect(stats.droppedSlowSubscriber).toBe(dropped);
  }, 60_000);

  it('of a persistent session still has its QoS 1 messages kept in its queue, and gets them on its next connection', async () => {
    const { dir, cleanup } = tempDir('weir-mqtt-muted-');
    const b = await startTestBridge(dir, silentLogger, { WEIR_MQTT__MAX_OUTGOING_BYTES_PER_CLIENT: '256KiB' });
    cleanups.push(cleanup, () => b.close());
    const port = b.bridge.address.port;
    const skipped = vi.spyOn(OutgoingBudget.prototype, 'skipped');
    const persistent = await stalled(port, 'persistent', 'pq/#', 1, false);

    // QoS 0 messages past the budget are dropped, and mute the session's listener.
    await publishInWaves(port, 'pq/zero', 10_000, 20);
    await expect.poll(() => b.bridge.stats().received[0], { timeout: 20_000 }).toBe(10_000);
    await expect.poll(async () => {
      const before = skipped.mock.calls.length;
      await settle(300);
      return before > 0 && skipped.mock.calls.length === before; // the last ones delivered too
    }, { timeout: 10_000 }).toBe(true);

    const publisher = await connectAsync(b.url, { clientId: 'pub', reconnectPeriod: 0 });
    cleanups.push(() => publisher.endAsync(true));
    const SENT = 300;
    const payload = (i: number): Buffer => Buffer.concat([Buffer.from(`${i}:`), Buffer.alloc(1024, 0x62)]);
    const skippedBefore = skipped.mock.calls.length;
    await Promise.all(Array.from({ length: SENT }, (_, i) => publisher.publishAsync('pq/x', payload(i), { qos: 1 })));
    // The mute skips none of them: they reach the budget hook, which leaves them queued (one that
    // reaches it while the socket is just under the budget is written and is in flight instead).
    await expect.poll(() => b.bridge.stats().deliveries.deferredSlowSubscriber, { timeout: 15_000 }).toBeGreaterThan(SENT / 2);
    await settle(300);
    expect(skipped.mock.calls.length).toBe(skippedBefore);
    persistent.end();
    await persistent.closed;

    const back = await connectAsync(b.url, { clientId: 'persistent', clean: false, reconnectPeriod: 0 });
    cleanups.push(() => back.endAsync(true));
    const seen = new Set<number>();
    back.on('message', (topic, p: Buffer) => {
      if (topic === 'pq/x') seen.add(Number(p.subarray(0, p.indexOf(0x3a)).toString()));
    });
    // Generous for a loaded machine; a lost delivery still fails.
    await expect.poll(() => seen.size, { timeout: 45_000 }).toBe(SENT);
  }, 120_000);
});
