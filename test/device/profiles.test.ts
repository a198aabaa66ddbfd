import { describe, expect, it } from 'vitest';
import { PROFILES, cgroupMemoryHigh, detectProfile, resolveMemoryHigh } from '../../device/profiles.js';
import { loadConfig } from '../../src/config/load.js';
import { storeOptionsFromConfig } from '../../src/config/store-options.js';

const MiB = 1024 * 1024;

describe('board profiles', () => {
  it('detects boards from the device-tree model, else from memory', () => {
    expect(detectProfile('Raspberry Pi Zero 2 W Rev 1.0', 512 * MiB).name).toBe('pi-zero-2w');
    expect(detectProfile('Raspberry Pi 4 Model B Rev 1.4', 4096 * MiB).name).toBe('pi-4');
    expect(detectProfile('Raspberry Pi 5 Model B Rev 1.0', 8192 * MiB).name).toBe('pi-5');
    expect(detectProfile(undefined, 512 * MiB).name).toBe('small');
    expect(detectProfile(undefined, 24 * 1024 * MiB).name).toBe('generic');
  });

  it('fills write-queue caps left at auto, and never overrides what the operator set', () => {
    const zero = storeOptionsFromConfig(loadConfig({ env: { WEIR_DEVICE__PROFILE: 'pi-zero-2w', WEIR_STORE__DIR: '/tmp/x', WEIR_STORE__DISK_BUDGET_BYTES: '1GiB' } }));
    expect(zero.writeQueueMaxBytes).toBe(PROFILES['pi-zero-2w'].writeQueueMaxBytes);
    expect(zero.writeQueueMaxRecords).toBe(20_000);
    const set = storeOptionsFromConfig(
      loadConfig({ env: { WEIR_DEVICE__PROFILE: 'pi-zero-2w', WEIR_STORE__WRITE_QUEUE_MAX_BYTES: '32MiB', WEIR_STORE__DIR: '/tmp/x', WEIR_STORE__DISK_BUDGET_BYTES: '1GiB' } }),
    );
    expect(set.writeQueueMaxBytes).toBe(32 * MiB);
    const pi5 = storeOptionsFromConfig(loadConfig({ env: { WEIR_DEVICE__PROFILE: 'pi-5', WEIR_STORE__DIR: '/tmp/x', WEIR_STORE__DISK_BUDGET_BYTES: '1GiB' } }));
    expect(pi5.writeQueueMaxBytes).toBe(64 * MiB);
  });

  it('sizes the log cleaner buffer left at auto by the board, and keeps one set', () => {
    const base = { WEIR_STORE__DIR: '/tmp/x', WEIR_STORE__DISK_BUDGET_BYTES: '1GiB' };
    expect(storeOptionsFromConfig(loadConfig({ env: { ...base, WEIR_DEVICE__PROFILE: 'pi-zero-2w' } })).compactionBufferBytes).toBe(4 * MiB);
    expect(storeOptionsFromConfig(loadConfig({ env: { ...base, WEIR_DEVICE__PROFILE: 'pi-4' } })).compactionBufferBytes).toBe(16 * MiB);
    const set = storeOptionsFromConfig(loadConfig({ env: { ...base, WEIR_DEVICE__PROFILE: 'pi-zero-2w', WEIR_STORE__COMPACTION_BUFFER_BYTES: '1MiB' } }));
    expect(set.compactionBufferBytes).toBe(MiB);
    expect(set.compactionCheckIntervalMs).toBe(15_000);
  });
});

describe('device.memory_high_bytes', () => {
  const files = (map: Record<string, string>) => (file: string) => {
    const content = map[file];
    if (content === undefined) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
    return content;
  };

  it("auto reads memory.high of the process's own cgroup (v2), unless it is max or missing", () => {
    const unit = { '/proc/self/cgroup': '0::/system.slice/weir.service\n', '/sys/fs/cgroup/system.slice/weir.service/memory.high': '201326592\n' };
    expect(cgroupMemoryHigh(files(unit))).toBe(192 * 2 ** 20);
    expect(cgroupMemoryHigh(files({ ...unit, '/sys/fs/cgroup/system.slice/weir.service/memory.high': 'max\n' }))).toBeUndefined();
    expect(cgroupMemoryHigh(files({ '/proc/self/cgroup': '4:memory:/user.slice\n' }))).toBeUndefined();
    expect(cgroupMemoryHigh(files({}))).toBeUndefined();
  });

  it("auto falls back to the profile's MemoryHigh=; a size is taken as set", () => {
    expect(resolveMemoryHigh('auto', PROFILES['pi-4'], () => 100 * 2 ** 20)).toBe(100 * 2 ** 20);
    expect(resolveMemoryHigh('auto', PROFILES['pi-4'], () => undefined)).toBe(192 * 2 ** 20);
    expect(resolveMemoryHigh('auto', PROFILES['pi-zero-2w'], () => undefined)).toBe(120 * 2 ** 20);
    expect(resolveMemoryHigh(64 * 2 ** 20, PROFILES['pi-4'], () => 100 * 2 ** 20)).toBe(64 * 2 ** 20);
  });
});
