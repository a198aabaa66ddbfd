import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const QUIET_DEBUG = fileURLToPath(new URL('../../dist/src/cli/quiet-debug.js', import.meta.url));

/**
 * Runs, in a fresh node process (the swap lives in its module cache), what mqtt-packet does: take
 * its `debug` logger, then parse a packet. Prints whether the logger is enabled and whether it
 * gathers its arguments (the debug package's loggers are `function debug(...args)`).
 */
function parseWithQuietDebug(env: NodeJS.ProcessEnv): { stdout: string; stderr: string } {
  const script = `
    await import(${JSON.stringify(QUIET_DEBUG)});
    const { createRequire } = await import('node:module');
    const fromMqttPacket = createRequire(createRequire(import.meta.dirname + '/').resolve('mqtt-packet'));
    const logger = fromMqttPacket('debug')('mqtt-packet:parser');
    const mqttPacket = fromMqttPacket('mqtt-packet');
    const parser = mqttPacket.parser();
    parser.on('packet', (p) => console.log('parsed ' + p.cmd));
    parser.parse(mqttPacket.generate({ cmd: 'pingreq' }));
    console.log('enabled ' + logger.enabled + ' gathers ' + String(logger).includes('...args'));
  `;
  const { DEBUG: _inherited, ...rest } = process.env;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../../node_modules/aedes/', import.meta.url)),
    env: { ...rest, ...env },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`node exited ${run.status}: ${run.stderr}`);
  return { stdout: run.stdout, stderr: run.stderr };
}

describe('quiet-debug (the weir executable loads it first)', () => {
  it("gives mqtt-packet a no-op logger that takes no arguments when DEBUG does not name it", () => {
    const { stdout, stderr } = parseWithQuietDebug({});
    expect(stdout).toContain('parsed pingreq');
    expect(stdout).toContain('enabled false gathers false');
    expect(stderr).toBe('');
  });

  it('keeps the real logger for namespaces DEBUG names', () => {
    const { stdout, stderr } = parseWithQuietDebug({ DEBUG: 'mqtt-packet:parser' });
    expect(stdout).toContain('enabled true gathers true');
    expect(stderr).toContain('mqtt-packet:parser parse: current state');
  });
});
