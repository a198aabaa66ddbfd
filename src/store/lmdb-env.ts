/**
 * The one LMDB environment of a data directory and its named databases. This file and the rest of
 * src/store are the only code that imports `lmdb`.
 *
 * Layout (all in one environment, so one write transaction can touch them all):
 *   meta        string            → msgpack   format version, partition-id counter
 *   topics      topic name        → TopicRecord
 *   partitions  uint32 pid        → PartitionRecord (next offset, log start offset)
 *   segments    [pid][base]       → SegmentMeta    (the unit of roll and deletion)
 *   batches     [pid][baseOffset] → RecordBatch v2 bytes, exactly as served to consumers
 *   groups      [group,topic,p]   → committed offset
 *   cursors     [name,topic,p]    → offset (e.g. "mirrored up to N")
 *   kv          [namespace, ...]  → msgpack   small state of other components (kv.ts)
 *   commits     'seq'             → versioned entry: the group-commit sequence number. Each group
 *                                   commit is conditional on it (lmdb-js ifVersion), so if one
 *                                   transaction fails, the ones queued behind it cannot commit
 *                                   offsets past the hole it left.
 *
 * Map size: left to lmdb-js, which grows the map on demand and, on 32-bit ARM (Raspberry Pi OS
 * armhf), turns on `remapChunks` when no mapSize is given, so a fixed multi-GB map never has to
 * fit a 32-bit address space.
 */
import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import { WeirError } from '../errors.js';
import type { TopicConfig } from './topic-config.js';

export const STORE_FORMAT_VERSION = 1;

export interface TopicRecord {
  name: string;
  partitionIds: number[];
  overrides: Partial<TopicConfig>;
  createdAt: number;
}

export interface PartitionRecord {
  topic: string;
  partition: number;
  nextOffset: number;
  logStartOffset: number;
}

export interface SegmentMeta {
  baseOffset: number;
  /** One past the last offset in the segment. */
  nextOffset: number;
  bytes: number;
  /** Wall-clock ms when the segment was rolled: `segment.ms` counts from here. */
  createdAt: number;
  /** Largest record timestamp in the segment: `retention.ms` counts from here, as in Kafka. */
  maxTimestamp: number;
}

export interface StoredGroupOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestamp: number;
}

export interface LmdbEnv {
  root: RootDatabase;
  meta: Database<unknown, string>;
  topics: Database<TopicRecord, string>;
  partitions: Database<PartitionRecord, number>;
  segments: Database<SegmentMeta, Buffer>;
  batches: Database<Buffer, Buffer>;
  groups: Database<StoredGroupOffset, [string, string, number]>;
  cursors: Database<number, [string, string, number]>;
  commits: Database<number, string>;
  kv: Database<unknown, (string | number)[]>;
}

let unhandledCommitFailuresIgnored = false;

/**
 * When a commit fails (ENOSPC, EIO), lmdb-js rejects internal promises that no caller can reach
 * (one per failed transaction, besides the write promises it returns, which the store awaits and
 * reports). Node would crash the process on them. This listener swallows exactly those (an Error
 * carrying lmdb-js's `commitError`) and rethrows anything else, which keeps Node's default
 * crash-on-unhandled-rejection behaviour for every other promise.
 */
function ignoreUnreachableCommitFailures(): void {
  if (unhandledCommitFailuresIgnored) return;
  unhandledCommitFailuresIgnored = true;
  process.on('unhandledRejection', (reason) => {
    if (reason instanceof Error && 'commitError' in reason) {
      (reason as { commitError?: Promise<unknown> }).commitError?.catch(() => undefined);
      return;
    }
    throw reason;
  });
}

function openHandles(dir: string, overlappingSync: boolean): LmdbEnv {
  const root = open({
    path: dir,
    // lmdb-js guesses "a file, not a directory" from a dot in the last path component
    // (`/srv/weir.data` would fail with EISDIR); the data dir is always a directory.
    noSubdir: false,
    maxDbs: 16,
    overlappingSync,
    // Resolve writes at commit and expose a per-write `flushed` promise: appends wait for that
    // one, so a caller's ack means "on disk", not "visible in memory".
    separateFlushed: true,
    // Weir keeps its own in-memory state; lmdb-js's object cache would only hold copies.
    cache: false,
    compression: false,
  });
  const env: LmdbEnv = {
    root,
    meta: root.openDB('meta', {}),
    topics: root.openDB('topics', {}),
    partitions: root.openDB('partitions', { keyEncoding: 'uint32' }),
    segments: root.openDB('segments', { keyEncoding: 'binary' }),
    batches: root.openDB('batches', { keyEncoding: 'binary', encoding: 'binary' }),
    groups: root.openDB('groups', {}),
    cursors: root.openDB('cursors', {}),
    commits: root.openDB('commits', { useVersions: true }),
    kv: root.openDB('kv', {}),
  };
  return env;
}

export function openLmdbEnv(dir: string, overlappingSync: boolean): LmdbEnv {
  mkdirSync(dir, { recursive: true });
  ignoreUnreachableCommitFailures();
  const env = openHandles(dir, overlappingSync);
  const root = env.root;
  if (env.commits.getEntry('seq') === undefined) env.commits.putSync('seq', 1, 1);
  const version = env.meta.get('formatVersion');
  if (version === undefined) {
    env.meta.putSync('formatVersion', STORE_FORMAT_VERSION);
  } else if (version !== STORE_FORMAT_VERSION) {
    root.close();
    throw new WeirError(
      'STORE_FORMAT_MISMATCH',
      `data directory ${dir} has store format ${String(version)}, this Weir reads format ${STORE_FORMAT_VERSION}: run the Weir version that wrote it, or point store.dir elsewhere`,
      { details: { dir, version } },
    );
  }
  return env;
}

/** A write's promise from lmdb-js with `separateFlushed`: resolves at commit, `.flushed` at fsync. */
export type CommitPromise = Promise<boolean> & { flushed?: Promise<unknown> };

/** Waits until the transaction holding `write` is committed and flushed to disk. */
export async function durable(write: Promise<boolean>): Promise<void> {
  // Both promises reject when the commit fails: await them together so neither goes unhandled.
  await Promise.all([write, (write as CommitPromise).flushed]).catch((err: unknown) => {
    handleCommitError(err);
    throw err;
  });
}

/**
 * lmdb-js hangs the underlying error of a failed commit on the write's error as a second,
 * rejected promise (`commitError`); handle it in the same tick so it never counts as unhandled.
 */
function handleCommitError(err: unknown): void {
  (err as { commitError?: Promise<unknown> } | undefined)?.commitError?.catch(() => undefined);
}

/** For writes whose outcome is observed through another write of the same transaction. */
export function sameTransaction(write: Promise<boolean>): void {
  write.catch(handleCommitError);
  (write as CommitPromise).flushed?.catch(handleCommitError);
}

/** Collects the writes of one transaction; `durable()` waits for the last (they commit together). */
export class TxnWrites {
  private last: Promise<boolean> | undefined;

  add(write: Promise<boolean>): void {
    if (this.last !== undefined) sameTransaction(this.last);
    this.last = write;
  }

  durable(): Promise<void> {
    return this.last === undefined ? Promise.resolve() : durable(this.last);
  }
}

/** Whether an lmdb-js commit failure was the filesystem running out of space (ENOSPC). */
export async function isNoSpace(err: unknown): Promise<boolean> {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current);
    const e = current as { code?: unknown; message?: unknown; cause?: unknown; commitError?: Promise<unknown> };
    if (e.code === 28 || e.code === 'ENOSPC' || (typeof e.message === 'string' && e.message.includes('No space left'))) return true;
    if (e.commitError !== undefined) {
      // lmdb-js attaches the underlying error as a rejected promise.
      current = await e.commitError.then(
        () => undefined,
        (inner: unknown) => inner,
      );
      continue;
    }
    current = e.cause;
  }
  return false;
}
