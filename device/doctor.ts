/**
 * The checks behind `weir doctor`: what an operator on a gateway must get right before (or while)
 * Weir runs. Each check says what it found and, when something is wrong, what to do about it.
 * Checks never change anything.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { bytesInDir, freeBytesFor, resolveDiskBudget } from '../src/config/store-options.js';
import type { WeirConfig } from '../src/config/schema.js';
import type { HostPort } from '../src/config/types.js';
import { portHolderCommand } from '../src/listen-error.js';
import type { CheckResult } from './doctor-check.js';
import { checkUpstreams } from './doctor-upstream.js';
import { checkFlashWear } from './doctor-wear.js';
import { boardModel, resolveProfile } from './profiles.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function size(n: number): string {
  return n >= GiB ? `${(n / GiB).toFixed(1)} GiB` : `${(n / MiB).toFixed(1)} MiB`;
}

/** The pid in the data directory's lock file, when that process is alive. */
export function runningWeirPid(dir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path.join(dir, 'weir.lock'), 'utf8').trim(), 10);
    if (!Number.isInteger(pid)) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? Number.NaN : undefined;
  }
}

export function checkNode(version = process.versions.node): CheckResult {
  const major = Number(version.split('.')[0]);
  return major >= 20
    ? { level: 'ok', name: 'node', message: `Node.js ${version}` }
    : { level: 'fail', name: 'node', message: `Node.js ${version} is too old`, fix: 'Install Node.js 20 or newer (NodeSource nodejs 20.x on Raspberry Pi OS).' };
}

export function checkDataDir(dir: string): CheckResult {
  if (existsSync(dir)) {
    try {
      accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
      return { level: 'ok', name: 'data dir', message: `${dir} exists and is writable` };
    } catch {
      return { level: 'fail', name: 'data dir', message: `${dir} is not writable by uid ${process.getuid?.() ?? '?'}`, fix: `chown the directory to the user Weir runs as (systemd: chown -R weir:weir ${dir}).` };
    }
  }
  let parent = path.dirname(path.resolve(dir));
  while (!existsSync(parent) && path.dirname(parent) !== parent) parent = path.dirname(parent);
  try {
    accessSync(parent, constants.W_OK | constants.X_OK);
    return { level: 'ok', name: 'data dir', message: `${dir} does not exist yet; Weir will create it` };
  } catch {
    return { level: 'fail', name: 'data dir', message: `${dir} does not exist and ${parent} is not writable`, fix: `Create it for Weir: mkdir -p ${dir} && chown weir:weir ${dir} (systemd's StateDirectory=weir does this).` };
  }
}

export function checkDisk(config: WeirConfig): CheckResult[] {
  const dir = config.store.dir;
  const free = freeBytesFor(dir);
  const used = bytesInDir(dir);
  const budget = resolveDiskBudget(config.store);
  const out: CheckResult[] = [
    { level: 'ok', name: 'disk', message: `${size(free)} free on the filesystem of ${dir}; Weir's data uses ${size(used)}` },
  ];
  if (config.store.disk_budget_bytes !== 'auto' && budget > free + used) {
    out.push({
      level: 'fail',
      name: 'disk budget',
      message: `store.disk_budget_bytes is ${size(budget)} but only ${size(free + used)} can ever be available`,
      fix: 'Lower store.disk_budget_bytes below the free space (or set it to auto): past the real free space, appends fail with a storage error instead of the overflow policy.',
    });
  } else {
    out.push({ level: 'ok', name: 'disk budget', message: `${size(budget)}${config.store.disk_budget_bytes === 'auto' ? ' (auto: 75% of free space plus data)' : ''}` });
  }
  if (free < 64 * MiB) {
    out.push({ level: 'warn', name: 'free space', message: `only ${size(free)} free`, fix: 'Free space on the device: at the last megabytes LMDB cannot write at all.' });
  }
  return out;
}

/** NTP synchronisation, as timedatectl reports it: retention.ms and timestamps depend on the clock. */
export function checkClock(now = new Date()): CheckResult {
  if (now.getUTCFullYear() < 2024) {
    return { level: 'fail', name: 'clock', message: `the clock says ${now.toISOString()}`, fix: 'Set the time (a Pi has no battery clock): enable systemd-timesyncd or chrony and check the network.' };
  }
  try {
    const synced = execFileSync('timedatectl', ['show', '--property=NTPSynchronized', '--value'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 3000 }).trim();
    if (synced === 'yes') return { level: 'ok', name: 'clock', message: 'synchronised (NTP)' };
    if (synced === 'no') return { level: 'warn', name: 'clock', message: 'not synchronised', fix: 'Enable time sync: timedatectl set-ntp true (record timestamps and retention.ms depend on the clock).' };
  } catch {
    // No timedatectl (or no systemd as PID 1): fall back to the timesyncd flag file.
  }
  if (existsSync('/run/systemd/timesync/synchronized')) return { level: 'ok', name: 'clock', message: 'synchronised (systemd-timesyncd)' };
  return { level: 'warn', name: 'clock', message: 'cannot tell whether the clock is synchronised', fix: 'Check with timedatectl or chronyc tracking; record timestamps and retention.ms depend on the clock.' };
}

/** Every `listen` field in the config (admin, and later mqtt and kafka), by section. */
export function configuredListeners(config: WeirConfig): { section: string; address: HostPort }[] {
  const out: { section: string; address: HostPort }[] = [];
  for (const [section, fields] of Object.entries(config as unknown as Record<string, Record<string, unknown>>)) {
    const listen = fields['listen'];
    const enabled = fields['enabled'];
    if (enabled === false) continue;
    if (typeof listen === 'object' && listen !== null && 'host' in listen && 'port' in listen) out.push({ section, address: listen as HostPort });
  }
  return out;
}

export function checkPort(section: string, address: HostPort, weirRunning: boolean): Promise<CheckResult> {
  const where = `${address.host}:${address.port}`;
  const name = `${section}.listen`;
  if (address.port === 0) return Promise.resolve({ level: 'ok', name, message: `${where}: any free port` });
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' && weirRunning) resolve({ level: 'ok', name, message: `${where} is in use (by the running Weir, presumably)` });
      else if (err.code === 'EADDRINUSE') resolve({ level: 'fail', name, message: `${where} is in use by another program`, fix: `Find it with: ${portHolderCommand(address.port)}; stop it or change ${name}.` });
      else if (err.code === 'EACCES') resolve({ level: 'fail', name, message: `${where} needs privileges`, fix: `Use a port above 1023 for ${name}.` });
      else if (err.code === 'EADDRNOTAVAIL') resolve({ level: 'fail', name, message: `${address.host} is not an address of this machine`, fix: `Set ${name} to an address of this machine (ip -br addr), or 127.0.0.1.` });
      else resolve({ level: 'fail', name, message: `${where}: ${err.message}`, fix: `Check ${name}.` });
    });
    server.listen(address.port, address.host, () => server.close(() => resolve({ level: 'ok', name, message: `${where} is free` })));
  });
}

export function checkPython(): CheckResult {
  try {
    execFileSync('python3', ['-c', 'import socket'], { stdio: 'ignore', timeout: 5000 });
    return { level: 'ok', name: 'python3', message: 'present (Weir sends sd_notify through it under systemd)' };
  } catch {
    return { level: 'warn', name: 'python3', message: 'not found', fix: 'Install python3 (apt-get install python3): without it systemd never hears READY=1 and restarts Weir.' };
  }
}

export function checkBoard(config: WeirConfig): CheckResult {
  const profile = resolveProfile(config.device.profile);
  const model = boardModel();
  const how = config.device.profile === 'auto' ? `detected${model === undefined ? ' from memory size' : ` from "${model}"`}` : 'set in device.profile';
  return {
    level: 'ok',
    name: 'board',
    message: `${profile.description}: profile ${profile.name} (${how}); auto write queue ${profile.writeQueueMaxRecords} records / ${size(profile.writeQueueMaxBytes)}; unit MemoryMax=${profile.memoryMax} fits it`,
  };
}

export async function runChecks(config: WeirConfig): Promise<CheckResult[]> {
  const pid = existsSync(config.store.dir) ? runningWeirPid(config.store.dir) : undefined;
  const results: CheckResult[] = [checkNode(), checkDataDir(config.store.dir)];
  results.push(
    pid === undefined
      ? { level: 'ok', name: 'weir', message: 'not running on this data dir' }
      : { level: 'ok', name: 'weir', message: `running on this data dir (pid ${Number.isNaN(pid) ? 'of another user' : pid})` },
  );
  results.push(checkBoard(config), ...checkDisk(config), await checkFlashWear(config, pid !== undefined), checkClock(), checkPython());
  for (const { section, address } of configuredListeners(config)) results.push(await checkPort(section, address, pid !== undefined));
  results.push(...(await checkUpstreams(config)));
  return results;
}
