/**
 * The unit file and the install script, checked with systemd's own tools (systemd 252, as on
 * Raspberry Pi OS bookworm) and by installing into a temporary root (DESTDIR).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { environmentOfUnit } from '../bench/unit-runtime.js';
import { tempDir } from '../helpers/store.js';

const REPO = join(import.meta.dirname, '../..');
const UNIT = join(REPO, 'systemd/weir.service');
const INSTALL = join(REPO, 'systemd/install.sh');

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('systemd/weir.service', () => {
  it('passes systemd-analyze verify without a single warning', () => {
    const { status, out } = run('systemd-analyze', ['verify', UNIT]);
    expect(status).toBe(0);
    expect(out.trim()).toBe('');
  });

  it('scores an exposure level of at most 2.0 in systemd-analyze security --offline', () => {
    const { out } = run('systemd-analyze', ['security', '--offline=yes', UNIT]);
    const score = Number(/Overall exposure level for weir\.service: ([\d.]+)/.exec(out)?.[1]);
    expect(score).toBeGreaterThan(0);
    expect(score).toBeLessThanOrEqual(2.0);
  });

  it('is a Type=notify unit with a watchdog, state and config directories, a memory cap and four malloc arenas', () => {
    const unit = readFileSync(UNIT, 'utf8');
    for (const line of ['Type=notify', 'NotifyAccess=all', 'WatchdogSec=30s', 'Restart=on-failure', 'StateDirectory=weir', 'ConfigurationDirectory=weir', 'User=weir', 'MemoryMax=256M', 'Environment=MALLOC_ARENA_MAX=4', 'ProtectSystem=strict', 'NoNewPrivileges=yes']) {
      expect(unit.split('\n')).toContain(line);
    }
  });

  it("is how `npm start` runs Weir too: the unit's V8 flags and environment", () => {
    const start = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['start'];
    const environment = environmentOfUnit(readFileSync(UNIT, 'utf8'));
    const nodeOptions = environment.find(([name]) => name === 'NODE_OPTIONS')?.[1];
    expect(nodeOptions).toMatch(/--max-old-space-size=/);
    // NODE_ENV marks the deployed service; Weir itself does not read it.
    const assignments = environment.filter(([name]) => name !== 'NODE_OPTIONS' && name !== 'NODE_ENV').map(([name, value]) => `${name}=${value}`);
    expect(assignments).toContain('MALLOC_ARENA_MAX=4');
    expect(start).toBe([...assignments, 'node', nodeOptions, 'dist/src/cli/weir.js', 'start'].join(' '));
  });
});

describe('systemd/install.sh into a temporary root (DESTDIR)', () => {
  it('installs, upgrades without touching the config, runs from /opt/weir, and uninstalls keeping data unless purged', () => {
    const { dir: root, cleanup } = tempDir('weir-destdir-');
    try {
      execFileSync(INSTALL, [], { env: { ...process.env, DESTDIR: root }, stdio: 'pipe' });
      for (const file of ['etc/systemd/system/weir.service', 'usr/lib/sysusers.d/weir.conf', 'usr/lib/tmpfiles.d/weir.conf', 'etc/weir/weir.yaml', 'etc/weir/weir.example.yaml', 'opt/weir/dist/src/cli/weir.js', 'opt/weir/node_modules/lmdb/package.json']) {
        expect(existsSync(join(root, file)), file).toBe(true);
      }
      expect(statSync(join(root, 'etc/weir')).mode & 0o777).toBe(0o750);
      expect(readFileSync(join(root, 'etc/systemd/system/weir.service'), 'utf8')).toBe(readFileSync(UNIT, 'utf8'));
      // Production dependencies only.
      expect(existsSync(join(root, 'opt/weir/node_modules/vitest'))).toBe(false);

      // The installed copy runs on its own node_modules: create a topic in a data dir with it.
      const weir = join(root, 'opt/weir/dist/src/cli/weir.js');
      const data = join(root, 'var/lib/weir');
      execFileSync(process.execPath, [weir, 'topics', 'create', '--topic', 'installed', '--data-dir', data], { stdio: 'pipe' });
      expect(execFileSync(process.execPath, [weir, 'topics', 'list', '--data-dir', data], { encoding: 'utf8' }).trim()).toBe('installed');

      // An upgrade (running it again) keeps the operator's config.
      writeFileSync(join(root, 'etc/weir/weir.yaml'), 'log:\n  level: debug\n');
      execFileSync(INSTALL, [], { env: { ...process.env, DESTDIR: root }, stdio: 'pipe' });
      expect(readFileSync(join(root, 'etc/weir/weir.yaml'), 'utf8')).toBe('log:\n  level: debug\n');

      execFileSync(INSTALL, ['--uninstall'], { env: { ...process.env, DESTDIR: root }, stdio: 'pipe' });
      expect(existsSync(join(root, 'opt/weir'))).toBe(false);
      expect(existsSync(join(root, 'etc/systemd/system/weir.service'))).toBe(false);
      expect(existsSync(join(root, 'etc/weir/weir.yaml'))).toBe(true);
      expect(existsSync(join(data, 'data.mdb'))).toBe(true);

      mkdirSync(join(root, 'opt'), { recursive: true });
      execFileSync(INSTALL, ['--uninstall', '--purge'], { env: { ...process.env, DESTDIR: root }, stdio: 'pipe' });
      expect(existsSync(join(root, 'etc/weir'))).toBe(false);
      expect(existsSync(data)).toBe(false);
    } finally {
      cleanup();
    }
  }, 120_000);

  it('refuses unknown options with usage and exit status 2', () => {
    const { status, out } = run(INSTALL, ['--frobnicate'], { DESTDIR: '/nonexistent' });
    expect(status).toBe(2);
    expect(out).toMatch(/unknown option '--frobnicate'/);
  });
});
