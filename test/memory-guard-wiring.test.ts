/**
 * The memory guard in a running Weir (its RssAnon reader swapped for a test one): under pressure
 * the MQTT and Kafka listeners refuse new connections, clients already connected are not read
 * (a QoS 1 PUBLISH gets its PUBACK, a Kafka request its response, only after release), /readyz
 * says why, and /metrics counts it.
 */
import { once } from 'node:events';
import { connectAsync } from 'mqtt';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bridgeConfig } from './helpers/mqtt-bridge.js';
import { silentLogger, tempDir } from './helpers/store.js';
import { RawClient, requestFrame } from './kafka/server/helpers.js';
import { metadataBody } from './kafka/server/requests.js';
import { startWeir, type RunningWeir } from '../src/main.js';
import { memoryGuard } from '../src/memory-guard.js';

const MiB = 2 ** 20;

/** Whether a new TCP connection to `port` is closed by the server before it says anything. */
async function closedAtOnce(port: number): Promise<boolean> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  const closed = once(s, 'close').then(() => true);
  const stillOpen = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 300));
  const result = await Promise.race([closed, stillOpen]);
  s.destroy();
  return result;
}

describe('memory guard wiring', () => {
  let weir: RunningWeir | undefined;
  const tmp = tempDir();

  afterEach(async () => {
    await weir?.shutdown('test over');
    tmp.cleanup();
  });

  it('refuses connections, stops reading connected clients, and says so on /readyz, until memory is back down', async () => {
    weir = await startWeir(
      bridgeConfig(tmp.dir, { WEIR_KAFKA__LISTEN: '127.0.0.1:0', WEIR_ADMIN__LISTEN: '127.0.0.1:0', WEIR_DEVICE__MEMORY_HIGH_BYTES: '100MiB' }),
      silentLogger,
    );
    let rss = 50 * MiB;
    memoryGuard.start({ memoryHighBytes: 100 * MiB, intervalMs: 60_000, readRssAnon: () => rss, log: silentLogger });
    const admin = `http://127.0.0.1:${weir.adminAddress!.port}`;
    const kafkaPort = weir.kafkaAddress!.port;
    const mqtt = await connectAsync(`mqtt://127.0.0.1:${weir.mqttAddress!.port}`, { reconnectPeriod: 0 });
    const kafka = await RawClient.connect(kafkaPort);
    try {
      await mqtt.publishAsync('room/1', 'before', { qos: 1 });
      expect((await fetch(`${admin}/readyz`)).status).toBe(200);

      rss = 95 * MiB;
      memoryGuard.sample();
      const ready = await fetch(`${admin}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: Record<string, string> }).checks.memory).toMatch(/^memory pressure: RssAnon 95\.0 MiB/);
      expect(await closedAtOnce(weir.mqttAddress!.port)).toBe(true);
      expect(await closedAtOnce(kafkaPort)).toBe(true);

      let acked = false;
      const during = mqtt.publishAsync('room/1', 'during', { qos: 1 }).then(() => (acked = true));
      kafka.write(requestFrame(3, 1, 1, metadataBody(1, null)));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(acked).toBe(false);
      expect(kafka.frames).toHaveLength(0);

      rss = 70 * MiB;
      memoryGuard.sample();
      await during;
      await kafka.waitFrames(1);
      expect(kafka.frames).toHaveLength(1);
      expect((await fetch(`${admin}/readyz`)).status).toBe(200);
      expect(await closedAtOnce(kafkaPort)).toBe(false);
      const metrics = await (await fetch(`${admin}/metrics`)).text();
      expect(metrics).toMatch(/^weir_memory_connections_refused_total 2$/m);
      expect(metrics).toMatch(/^weir_memory_pressure 0$/m);
    } finally {
      kafka.destroy();
      await mqtt.endAsync();
    }
  });
});
