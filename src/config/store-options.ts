/**
 * Turns the validated config into the store's options, resolving what can only be known at
 * start: the `auto` disk budget depends on the free space of the filesystem holding the data.
 */
import { readdirSync, statSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { resolveProfile } from '../../device/profiles.js';
import type { StoreOptions } from '../store/types.js';
import type { TopicConfig } from '../store/topic-config.js';
import type { WeirConfig } from './schema.js';

/** Share of (free space + bytes already in the data dir) that `auto` gives to the log. */
export const AUTO_DISK_BUDGET_SHARE = 0.75;

/** Bytes allocated on disk under `dir` (blocks, not apparent size: LMDB files may be sparse). */
export function bytesInDir(dir: string): number {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  for (const entry of entries) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) total += bytesInDir(p);
    else if (entry.isFile()) {
      const st = statSync(p);
      total += Math.min(st.size, st.blocks * 512);
    }
  }
  return total;
}

/** Free bytes for an unprivileged writer on the filesystem that holds (or will hold) `dir`. */
export function freeBytesFor(dir: string): number {
  let probe = path.resolve(dir);
  for (;;) {
    try {
      const st = statfsSync(probe);
      return st.bavail * st.bsize;
    } catch (err) {
      const parent = path.dirname(probe);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === probe) throw err;
      probe = parent; // the data dir does not exist yet: measure the filesystem it will be created on
    }
  }
}

export function resolveDiskBudget(store: WeirConfig['store']): number {
  if (store.disk_budget_bytes !== 'auto') return store.disk_budget_bytes;
  return Math.floor(AUTO_DISK_BUDGET_SHARE * (freeBytesFor(store.dir) + bytesInDir(store.dir)));
}

/** The store's options from the config; `dir` overrides `store.dir` (the CLI's --data-dir). */
export function storeOptionsFromConfig(config: WeirConfig, overrides: { dir?: string } = {}): StoreOptions {
  const store = { ...config.store, dir: overrides.dir ?? config.store.dir };
  const { partitions, ...topicDefaults } = config.topic_defaults;
  const profile = resolveProfile(config.device.profile);
  return {
    dir: store.dir,
    topicDefaults: { ...topicDefaults } as TopicConfig,
    defaultPartitions: partitions,
    diskBudgetBytes: resolveDiskBudget(store),
    writeQueueMaxRecords: store.write_queue_max_records === 'auto' ? profile.writeQueueMaxRecords : store.write_queue_max_records,
    writeQueueMaxBytes: store.write_queue_max_bytes === 'auto' ? profile.writeQueueMaxBytes : store.write_queue_max_bytes,
    blockTimeoutMs: store.block_timeout_ms,
    retentionCheckIntervalMs: store.retention_check_interval_ms,
    compactionBufferBytes: store.compaction_buffer_bytes === 'auto' ? profile.compactionBufferBytes : store.compaction_buffer_bytes,
    compactionCheckIntervalMs: store.compaction_check_interval_ms,
    overlappingSync: store.overlapping_sync,
    maxTopics: store.max_topics,
    maxPartitions: store.max_partitions,
    producerIdExpirationMs: config.kafka.producer_id_expiration_ms,
  };
}
