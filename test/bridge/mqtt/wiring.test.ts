/**
 * The bridge as `weir start` runs it: wired into startWeir, stopped by its shutdown path.
 */
import { connectAsync } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { bridgeConfig } from '../../helpers/mqtt-bridge.js';
import { silentLogger, tempDir } from '../../helpers/store.js';
import { startWeir } from '../../../src/main.js';
import { isWeirError } from '../../../src/errors.js';

describe('startWeir with MQTT', () => {
  it('accepts MQTT publishes into the log, then shuts down cleanly', async () => {
    const { dir, cleanup } = tempDir('weir-mqtt-main-');
    try {
      const weir = await startWeir(bridgeConfig(dir, { WEIR_ADMIN__ENABLED: 'false', WEIR_KAFKA__ENABLED: 'false' }), silentLogger);
      const card = (id: string) => weir.statusSections.get('mqtt')?.().cards?.find((c) => c.id === id)?.value;
      const c = await connectAsync(`mqtt://127.0.0.1:${weir.mqttAddress?.port}`, { reconnectPeriod: 0 });
      await c.publishAsync('room/retained', 'r', { qos: 1, retain: true });
      await c.publishAsync('room/1', 'v', { qos: 1 });
      expect(card('appended')).toBe(2);
      expect(card('clients')).toBe(1);
      expect(weir.store.offsets('mqtt', 0).highWatermark).toBe(2);
      const metrics = await weir.metrics.metrics();
      expect(metrics).toMatch(/^weir_mqtt_records_appended_total 2$/m);
      expect(metrics).toMatch(/^weir_mqtt_publishes_received_total\{qos="1"\} 2$/m);
      expect(metrics).toMatch(/^weir_mqtt_state\{kind="retained"\} 1$/m);
      expect(metrics).toMatch(/^# TYPE weir_mqtt_queue_dropped_total counter$/m);
      expect(metrics).toMatch(/^weir_mqtt_state\{kind="queued_bytes"\} 0$/m);
      expect(metrics).toMatch(/^weir_mqtt_connections 1$/m);
      const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
      const result = await weir.shutdown('test');
      await closed; // shutdown closed the client's connection
      await c.endAsync(true);
      expect(result).toMatchObject({ timedOut: false, failed: [] });
    } finally {
      cleanup();
    }
  });

  it('a refused MQTT listener stops what was already started', async () => {
    const { dir, cleanup } = tempDir('weir-mqtt-main-');
    try {
      const env = { WEIR_ADMIN__ENABLED: 'false', WEIR_KAFKA__ENABLED: 'false', WEIR_MQTT__LISTEN: '0.0.0.0:0' };
      const err: unknown = await startWeir(bridgeConfig(dir, env), silentLogger).catch((e: unknown) => e);
      expect(isWeirError(err, 'CONFIG_INVALID')).toBe(true);
      // The store was closed again: its lock is free for the next start.
      const weir = await startWeir(bridgeConfig(dir, { WEIR_ADMIN__ENABLED: 'false', WEIR_KAFKA__ENABLED: 'false' }), silentLogger);
      await weir.shutdown('test');
    } finally {
      cleanup();
    }
  });
});
