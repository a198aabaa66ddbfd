/** Helpers for tests that open real stores in fresh temp dirs. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openStore, kafkaTopicDefaults, type LogStore, type StoreOptions } from '../../src/store/index.js';

export const silentLogger = pino({ level: 'silent' });

export function tempDir(prefix = 'weir-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function storeOptions(dir: string, overrides: Partial<StoreOptions> = {}): StoreOptions {
  return {
    dir,
    topicDefaults: kafkaTopicDefaults(),
    defaultPartitions: 1,
    diskBudgetBytes: 1024 ** 3,
    writeQueueMaxRecords: 100_000,
    writeQueueMaxBytes: 64 * 1024 * 1024,
    blockTimeoutMs: 1_000,
    retentionCheckIntervalMs: 0,
    overlappingSync: true,
    ...overrides,
  };
}

export async function openTestStore(dir: string, overrides: Partial<StoreOptions> = {}): Promise<LogStore> {
  return openStore(storeOptions(dir, overrides), silentLogger);
}
