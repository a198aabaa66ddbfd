/**
 * Bad input costs only its sender, and nobody else notices: while a
 * well-behaved QoS 1 publisher keeps publishing, the broker is hit at the same time by a connect
 * storm far beyond mqtt.max_connections, malformed packets, oversize packets and 10k-level
 * topics. Each offender is disconnected; the publisher is never disconnected, keeps getting
 * PUBACKs all through the storm (no long stall), and every message it got a PUBACK for is in the log.
 */
import net from 'node:net';
import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { readAll, startTestBridge, type RunningBridge } from '../../helpers/mqtt-bridge.js';
import { RawClient, packet, publishPacket } from '../../helpers/mqtt-raw.js';
import { silentLogger, tempDir } from '../../helpers/store.js';

const MAX_CONNECTIONS = 20;
const STORM = 300;

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** A connection that the broker should close: resolves when it is closed. */
function stormConnection(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.once('close', () => resolve());
  });
}

describe('bad input while a good client publishes', () => {
  it('disconnects only the offenders; the good publisher is acknowledged throughout', async () => {
    const { dir, cleanup } = tempDir('weir-mqtt-bad-');
    const b: RunningBridge = await startTestBridge(dir, silentLogger, {
      WEIR_MQTT__RULES: '[{filter: "t/#", topic: t}]',
      WEIR_MQTT__MAX_CONNECTIONS: String(MAX_CONNECTIONS),
      WEIR_MQTT__MAX_PACKET_SIZE: '4KiB',
    });
    cleanups.push(cleanup, () => b.close());
    const port = b.bridge.address.port;

    const good = await connectAsync(b.url, { clientId: 'good', reconnectPeriod: 0 });
    let goodClosed = false;
    good.on('close', () => (goodClosed = true));
    cleanups.push(() => good.endAsync(true));
    // Fill every other slot: the storm finds the broker full.
    const holders: RawClient[] = [];
    for (let i = 0; i < MAX_CONNECTIONS - 1; i++) holders.push(await RawClient.connect(port, `holder-${i}`));
    cleanups.push(() => holders.forEach((h) => h.end()));

    const acked: number[] = [];
    const ackTimes: number[] = [];
    let stop = false;
    const publishing = (async () => {
      for (let seq = 0; !stop; seq++) {
        await good.publishAsync(`t/good`, `m${seq}`, { qos: 1 });
        acked.push(seq);
        ackTimes.push(Date.now());
      }
    })();
    const ackedBefore = async (n: number): Promise<void> => {
      while (acked.length < n) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    await ackedBefore(20);

    const stormStart = Date.now();
    const startAcks = acked.length;
    // A connect storm: every connection past the cap is closed at once.
    const offenders: Promise<void>[] = [];
    for (let i = 0; i < STORM; i++) offenders.push(stormConnection(port));
    await Promise.all(offenders);
    // Then one slot frees, and offenders take turns in it: malformed, oversize, 10k levels.
    holders.pop()?.end();
    const slotFree = async (): Promise<void> => {
      while (b.bridge.stats().connections.open >= MAX_CONNECTIONS) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    const bad = [
      packet(0x60, Buffer.from([0, 1])), // PUBREL with reserved flags 0000 [MQTT-3.6.1-1]
      Buffer.from([0x32, 0x80, 0xad, 0xe2, 0x04]), // PUBLISH claiming 10 MB, header only
      publishPacket(`t${'/x'.repeat(10_000)}`, Buffer.from('v'), { qos: 1, id: 1 }),
      Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]), // Remaining Length of five bytes [MQTT-2.2.3]
    ];
    const sequential = (async () => {
      for (let round = 0; round < 5; round++) {
        for (const [i, bytes] of bad.entries()) {
          await slotFree();
          const c = await RawClient.connect(port, i === 3 ? undefined : `bad-${round}-${i}`);
          c.write(bytes);
          await c.closed;
        }
      }
    })();
    await sequential;
    const stormEnd = Date.now();
    await ackedBefore(startAcks + 20); // still going after the storm
    stop = true;
    await publishing;

    expect(goodClosed).toBe(false);
    expect(holders.every((h) => !h.socket.destroyed)).toBe(true);
    const stats = b.bridge.stats().connections;
    expect(stats.rejectedMaxConnections).toBe(STORM);
    expect(stats.closedOversize + stats.closedProtocolError).toBeGreaterThanOrEqual(5 * bad.length);
    // PUBACKs kept coming during the storm: no gap longer than a second.
    const during = ackTimes.filter((t) => t >= stormStart && t <= stormEnd);
    const times = [stormStart, ...during, stormEnd];
    const longestGap = Math.max(...times.slice(1).map((t, i) => t - times[i]!));
    expect(longestGap).toBeLessThan(1_000);
    // Every acknowledged message is in the log, once, in order.
    const values = readAll(b.store, 't').map((r) => r.value?.toString());
    expect(values.slice(0, acked.length)).toEqual(acked.map((s) => `m${s}`));
  }, 60_000);
});
