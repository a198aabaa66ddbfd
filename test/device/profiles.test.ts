import { describe, expect, it } from 'vitest';
import { PROFILES, detectProfile } from '../../device/profiles.js';
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
});
