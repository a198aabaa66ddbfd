/**
 * The quiet-debug speed-up (bridge/mqtt/speedups/quiet-debug.ts): mqtt-packet gets no-op loggers
 * unless DEBUG names them; applied after mqtt-packet has loaded it changes nothing and says so; a
 * `debug` of another shape is left alone.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { debugMisfit } from '../../../../bridge/mqtt/speedups/quiet-debug.js';

const SPEEDUPS = fileURLToPath(new URL('../../../../dist/bridge/mqtt/speedups/index.js', import.meta.url));
const QUIET_DEBUG = fileURLToPath(new URL('../../../../dist/bridge/mqtt/speedups/quiet-debug.js', import.meta.url));

/**
 * Runs, in a fresh node process (the swap lives in its module cache), what mqtt-packet does: take
 * its `debug` logger, then parse a packet. Prints the speed-up's outcome, whether the logger is
 * enabled and whether it gathers its arguments (the debug package's loggers are
 * `function debug(...args)`). `mqttPacketFirst` loads mqtt-packet before the speed-up is applied.
 */
function parseWithQuietDebug(env: NodeJS.ProcessEnv, mqttPacketFirst = false): { stdout: string; stderr: string } {
  const script = `
    const { createRequire } = await import('node:module');
    const fromMqttPacket = createRequire(createRequire(import.meta.dirname + '/').resolve('mqtt-packet'));
    if (${mqttPacketFirst}) fromMqttPacket('mqtt-packet');
    const { applyMqttSpeedups } = await import(${JSON.stringify(SPEEDUPS)});
    const { quietDebug } = await import(${JSON.stringify(QUIET_DEBUG)});
    console.log('outcome ' + JSON.stringify(applyMqttSpeedups(undefined, [quietDebug, quietDebug])));
    const logger = fromMqttPacket('debug')('mqtt-packet:parser');
    const mqttPacket = fromMqttPacket('mqtt-packet');
    const parser = mqttPacket.parser();
    parser.on('packet', (p) => console.log('parsed ' + p.cmd));
    parser.parse(mqttPacket.generate({ cmd: 'pingreq' }));
    console.log('enabled ' + logger.enabled + ' gathers ' + String(logger).includes('...args'));
  `;
  const { DEBUG: _inherited, ...rest } = process.env;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../../../../node_modules/aedes/', import.meta.url)),
    env: { ...rest, ...env },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`node exited ${run.status}: ${run.stderr}`);
  return { stdout: run.stdout, stderr: run.stderr };
}

describe('the quiet-debug speed-up', () => {
  it('gives mqtt-packet a no-op logger that takes no arguments when DEBUG does not name it', () => {
    const { stdout, stderr } = parseWithQuietDebug({});
    expect(stdout).toContain('outcome [{"name":"quiet-debug"},{"name":"quiet-debug"}]');
    expect(stdout).toContain('parsed pingreq');
    expect(stdout).toContain('enabled false gathers false');
    expect(stderr).toBe('');
  });

  it('keeps the real logger for namespaces DEBUG names', () => {
    const { stdout, stderr } = parseWithQuietDebug({ DEBUG: 'mqtt-packet:parser' });
    expect(stdout).toContain('enabled true gathers true');
    expect(stderr).toContain('mqtt-packet:parser parse: current state');
  });

  it('is skipped, as too late, once mqtt-packet has made its loggers', () => {
    const { stdout } = parseWithQuietDebug({}, true);
    expect(stdout).toContain('"kind":"late","reason":"mqtt-packet was loaded before the swap and keeps the loggers it made"');
    expect(stdout).toContain('enabled undefined gathers true'); // the real logger: DEBUG unset leaves it undefined
  });

  it('leaves a debug of another shape alone, saying why', () => {
    const realDebug = createRequire(createRequire(import.meta.url).resolve('mqtt-packet'))('debug') as unknown;
    const argumentFree = Object.assign(() => Object.assign(() => undefined, { enabled: false, extend: () => undefined }), { enabled: () => false });
    expect(debugMisfit('debug')).toEqual({ kind: 'shape', reason: "debug's export is not a logger factory (string)" });
    expect(debugMisfit(() => undefined)).toEqual({ kind: 'shape', reason: 'debug has no enabled(namespace)' });
    expect(debugMisfit(argumentFree)).toEqual({ kind: 'shape', reason: "debug's logger is not function debug(...args)" });
    expect(debugMisfit(realDebug)).toBeUndefined();
  });
});
