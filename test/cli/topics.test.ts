/**
 * `weir topics …` against a real store in a temp data dir, and `weir start` with its one shutdown
 * path. These need src/store (openStore) to be built.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertBuilt, finished, runWeir, spawnWeir, waitForLog } from './helpers.js';

let cwd: string;
let dataDir: string;
beforeAll(() => assertBuilt());
beforeEach(() => {
  cwd = mkdtempSync(path.join(tmpdir(), 'weir-cli-'));
  dataDir = path.join(cwd, 'data');
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

const topics = (...args: string[]) => runWeir(['topics', ...args, '--data-dir', dataDir], { cwd });

describe('weir topics on a data dir', () => {
  it('create, list, describe, alter, delete', async () => {
    let r = await topics('create', '--topic', 'sensors', '--partitions', '3', '--config', 'retention.ms=86400000');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`Created topic sensors with 3 partitions in ${dataDir}.\n`);
    expect((await topics('create', '--topic', 'alarms')).code).toBe(0);

    r = await topics('list');
    expect(r).toMatchObject({ code: 0, stdout: 'alarms\nsensors\n', stderr: '' });

    r = await topics('describe', '--topic', 'sensors');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Topic: sensors\tPartitionCount: 3\t/);
    for (const p of [0, 1, 2]) expect(r.stdout).toContain(`\tPartition: ${p}\tLogStartOffset: 0\tHighWatermark: 0\tSize: 0 B\t`);
    expect(r.stdout).toContain('\tretention.ms=86400000\toverride (default: 604800000)\n');
    expect(r.stdout).toContain('\tsegment.bytes=16777216\tdefault\n');

    r = await topics('alter', '--topic', 'sensors', '--partitions', '4', '--config', 'segment.ms=60000', '--delete-config', 'retention.ms');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Altered topic sensors: partitions 3 -> 4; set segment.ms=60000; removed override retention.ms.\n');
    r = await topics('describe', '--topic', 'sensors');
    expect(r.stdout).toContain('PartitionCount: 4');
    expect(r.stdout).toContain('\tretention.ms=604800000\tdefault\n');
    expect(r.stdout).toContain('\tsegment.ms=60000\toverride (default: 604800000)\n');

    r = await topics('describe');
    expect(r.stdout).toContain('Topic: alarms\t');
    expect(r.stdout).toContain('Topic: sensors\t');

    r = await topics('delete', '--topic', 'alarms');
    expect(r).toMatchObject({ code: 0, stdout: `Deleted topic alarms from ${dataDir}.\n` });
    expect((await topics('list')).stdout).toBe('sensors\n');
  });

  it('store errors are runtime errors (exit 1) with a next step; --if-(not-)exists make them no-ops', async () => {
    expect((await topics('create', '--topic', 't')).code).toBe(0);
    let r = await topics('create', '--topic', 't');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("weir: topic 't' already exists");
    expect(r.stderr).toContain('--if-not-exists');
    expect((await topics('create', '--topic', 't', '--if-not-exists')).code).toBe(0);

    r = await topics('alter', '--topic', 't', '--partitions', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^weir: .*partitions/);

    r = await topics('describe', '--topic', 'missing');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("'weir topics list' shows the topics");
    expect((await topics('delete', '--topic', 'missing')).code).toBe(1);
    expect((await topics('delete', '--topic', 'missing', '--if-exists')).code).toBe(0);
  });

  it('finds the data dir through --config-file or WEIR_STORE__DIR, and uses topic_defaults from it', async () => {
    const file = path.join(cwd, 'weir.yaml');
    writeFileSync(file, `store:\n  dir: ${dataDir}\ntopic_defaults:\n  partitions: 2\n`);
    let r = await runWeir(['topics', 'create', '--topic', 'x', '--config-file', file], { cwd });
    expect(r.stdout).toBe(`Created topic x with 2 partitions in ${dataDir}.\n`);
    r = await runWeir(['topics', 'list'], { cwd, env: { WEIR_STORE__DIR: dataDir } });
    expect(r).toMatchObject({ code: 0, stdout: 'x\n' });
  });
});

describe('weir start', () => {
  it('runs on defaults, logs starting/ready as JSON, and shuts down once on SIGTERM (exit 0)', async () => {
    const child = spawnWeir(['start'], { cwd });
    const done = finished(child);
    const ready = await waitForLog(child, 'ready');
    expect(ready.dataDir).toBe(dataDir); // ./data relative to where Weir starts
    expect(typeof ready.diskBudgetBytes).toBe('number');
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code).toBe(0);
    const logs = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const starting = logs.find((l) => l.msg === 'starting');
    expect(starting?.config).toMatchObject({ store: { dir: dataDir }, log: { level: 'info' } });
    expect(logs.find((l) => l.msg === 'stopped')).toMatchObject({ reason: 'SIGTERM', timedOut: false, failed: [] });
  });

  it('uses $STATE_DIRECTORY as systemd sets it, and stops on SIGINT', async () => {
    const child = spawnWeir(['start'], { cwd, env: { STATE_DIRECTORY: path.join(cwd, 'state') } });
    const done = finished(child);
    expect((await waitForLog(child, 'ready')).dataDir).toBe(path.join(cwd, 'state'));
    child.kill('SIGINT');
    expect((await done).code).toBe(0);
  });

  it('while it runs, topics commands refuse its locked data dir (exit 1) and say to go through it or stop it', async () => {
    const child = spawnWeir(['start'], { cwd, env: { WEIR_STORE__DIR: dataDir } });
    const done = finished(child);
    await waitForLog(child, 'ready');
    try {
      const r = await topics('list');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^weir: .*in use by another Weir process/);
      expect(r.stderr).toContain('pass --bootstrap-server HOST:PORT');
      expect(r.stderr).toContain('stop it first (systemctl stop weir)');
    } finally {
      child.kill('SIGTERM');
    }
    expect((await done).code).toBe(0);
  });
});
