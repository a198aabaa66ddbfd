/**
 * The speed-ups as shipped: each was written against the versions package.json pins (exactly)
 * and node_modules holds, so none is skipped for a version; the `weir` executable applies all of
 * them (the debug swap only works before mqtt-packet loads) and says so in its start log; an
 * in-process start applies what it still can.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { MQTT_SPEEDUPS } from '../../../../bridge/mqtt/speedups/index.js';
import { installedPackage } from '../../../../bridge/mqtt/speedups/installed.js';
import { startTestBridge } from '../../../helpers/mqtt-bridge.js';
import { tempDir } from '../../../helpers/store.js';
import { startWeirProcess } from '../../../helpers/weir-process.js';

const manifest = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as {
  dependencies: Record<string, string>;
  overrides: Record<string, string>;
};

describe('the MQTT speed-ups and their packages', () => {
  it('are written for the versions package.json pins and node_modules holds', () => {
    expect(manifest.dependencies['aedes']).toMatch(/^\d+\.\d+\.\d+$/);
    for (const speedup of MQTT_SPEEDUPS) {
      for (const required of speedup.requires) {
        expect(manifest.overrides[required.name], `${speedup.name}: ${required.name} pinned in overrides`).toBe(required.version);
        expect(installedPackage(required.name).version, `${speedup.name}: ${required.name} installed`).toBe(required.version);
      }
    }
  });

  it('are all applied by the weir executable, which logs them at start', async () => {
    const { dir, cleanup } = tempDir('weir-speedups-cli-');
    const weir = await startWeirProcess(dir, { env: { WEIR_MQTT__ENABLED: 'true', WEIR_MQTT__LISTEN: '127.0.0.1:0' } });
    try {
      const line = weir.startLog.find((text) => text.includes('"MQTT speed-ups"'));
      expect(line, weir.startLog.join('\n')).toBeDefined();
      expect(JSON.parse(line!)).toMatchObject({ applied: ['quiet-debug', 'bl-reads'], skipped: [] });
    } finally {
      await weir.kill('SIGTERM');
      cleanup();
    }
  });

  it('are applied by an in-process start too, but for the debug swap once aedes has loaded mqtt-packet', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const { dir, cleanup } = tempDir('weir-speedups-inproc-');
    const running = await startTestBridge(dir, logger);
    try {
      expect(lines.find((l) => l['msg'] === 'MQTT speed-ups')).toMatchObject({ applied: ['bl-reads'], skipped: ['quiet-debug'] });
      expect(lines.find((l) => l['speedup'] === 'quiet-debug')).toMatchObject({ level: 30, found: '4.4.3', expected: '4.4.3' });
    } finally {
      await running.close();
      cleanup();
    }
  });
});
