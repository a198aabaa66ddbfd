/**
 * The one LMDB environment of a data directory and its named databases. This file and the rest of
 * src/store are the only code that imports `lmdb`.
 *
 * Layout (all in one environment, so one write transaction can touch them all):
 *   (root)      [pid][baseOffset] → RecordBatch v2 bytes, exactly as served to consumers (format 2)
 *   meta        string            → msgpack   format version, partition-id counter
 *   topics      topic name        → TopicRecord
 *   partitions  uint32 pid        → PartitionRecord (log start offset; next offset when last known)
 *   segments    [pid][base]       → SegmentMeta    (the unit of roll and deletion)
 *   groups      [group,topic,p]   → committed offset
 *   cursors     [name,topic,p]    → offset (e.g. "mirrored up to N")
 *   cleaner     uint32 pid        → CleanerRecord (log compaction's checkpoint and totals)
 *   producers   uint32 pid        → ProducerSnapshot (idempotent/transactional producers, written
 *                                   with the active segment's row; see producer-table.ts)
 *   txnindex    [pid][markerOffset] → AbortedTxnEntry (Kafka's .txnindex: aborted transactions)
 *   kv          [namespace, ...]  → msgpack   small state of other components (kv.ts)
 *
 * Flash wear decides this layout. LMDB rewrites, copy-on-write, every page on the path from a
 * changed leaf to its tree's root, then the free list and a meta page. A group commit therefore
 * writes only batches, and only into the root database: a named database would add its
 * catalogue page in the root to every commit. The partition's next offset and the active
 * segment's counters are kept in memory and recovered at open from the stored batches (see
 * partition.ts), so they are not rewritten per commit either. At 100-byte messages that is about
 * four pages per commit instead of nine.
 *
 * Format 1 (before) kept batches in a named database `batches` and a versioned `commits` row;
 * such directories still open and work (batches stay where they are), without the saving of
 * the catalogue page.
 *
 * Map size: left to lmdb-js, which grows the map on demand. On a 32-bit process Weir turns on
 * `remapChunks` itself (see `needsRemapChunks`), so the log is mapped in chunks and never has to
 * fit the address space at once.
 */
import { closeSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { IF_EXISTS, open, type Database, type RootDatabase } from 'lmdb';
import { WeirError } from '../errors.js';
import type { ProducerSnapshot } from './producer-table.js';
import type { TopicConfig } from './topic-config.js';

/** The format new directories get; `READABLE_FORMATS` lists every format this Weir opens. */
export const STORE_FORMAT_VERSION = 2;
const READABLE_FORMATS: readonly number[] = [1, 2];

export interface TopicRecord {
  name: string;
  partitionIds: number[];
  overrides: Partial<TopicConfig>;
  createdAt: number;
}

export interface PartitionRecord {
  topic: string;
  partition: number;
  /**
   * A lower bound of the next offset, written when the log start moves (retention, DeleteRecords):
   * the one place it is kept once every batch is deleted. The truth is the last stored batch.
   */
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
  /** Compacted topics: wall-clock ms when the log cleaner first compacted the whole segment. */
  cleanedAt?: number;
  /** Compacted topics: tombstones the segment held when the cleaner last compacted it. */
  tombstones?: number;
}

/**
 * The log cleaner's state of one partition, written only by the cleaner, in the transaction of a
 * pass's last rewrite (never on the commit path). Its own database: retention rewrites the
 * partition row with the fields it knows.
 */
export interface CleanerRecord {
  /** Every record below this offset has been compacted (Kafka's cleaner checkpoint). */
  firstDirtyOffset: number;
  /** Wall-clock ms when the last pass ended; null before the first. */
  lastCompactedAt: number | null;
  /** Batch bytes the cleaner has removed from the partition, in all. */
  bytesReclaimed: number;
}

/** An aborted transaction, keyed by its ABORT marker's offset (written in the marker's transaction). */
export interface AbortedTxnEntry {
  producerId: number;
  firstOffset: number;
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
  cleaner: Database<CleanerRecord, number>;
  producers: Database<ProducerSnapshot, number>;
  txnIndex: Database<AbortedTxnEntry, Buffer>;
  kv: Database<unknown, (string | number)[]>;
}

/**
 * Whether this process's address space is 32-bit, so LMDB must map the file in chunks. lmdb-js
 * guesses from `os.arch().endsWith('32')`, which is false on armv7l (Raspberry Pi OS 32-bit:
 * `arm`), where a whole-file map then fails with ENOMEM once the log nears 1 GB.
 */
export function needsRemapChunks(arch: string = process.arch): boolean {
  return ['arm', 'ia32', 'mips', 'mipsel', 'ppc', 's390'].includes(arch);
}

function openRoot(dir: string, overlappingSync: boolean): RootDatabase<Buffer, Buffer> {
  return open<Buffer, Buffer>({
    remapChunks: needsRemapChunks(),
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
    // The root database holds the log's batches (format 2): binary keys and values.
    keyEncoding: 'binary',
    encoding: 'binary',
  });
}

/**
 * lmdb-js's own defaults, spelled out: named databases would otherwise inherit the root's binary
 * encodings.
 */
const MSGPACK = { keyEncoding: 'ordered-binary', encoding: 'msgpack' } as const;

function openHandles(root: RootDatabase<Buffer, Buffer>, format: number): LmdbEnv {
  return {
    root,
    meta: root.openDB('meta', MSGPACK),
    topics: root.openDB('topics', MSGPACK),
    partitions: root.openDB('partitions', { ...MSGPACK, keyEncoding: 'uint32' }),
    segments: root.openDB('segments', { ...MSGPACK, keyEncoding: 'binary' }),
    batches: format === 1 ? root.openDB('batches', { keyEncoding: 'binary', encoding: 'binary' }) : root,
    groups: root.openDB('groups', MSGPACK),
    cursors: root.openDB('cursors', MSGPACK),
    cleaner: root.openDB('cleaner', { ...MSGPACK, keyEncoding: 'uint32' }),
    producers: root.openDB('producers', { ...MSGPACK, keyEncoding: 'uint32' }),
    txnIndex: root.openDB('txnindex', { ...MSGPACK, keyEncoding: 'binary' }),
    kv: root.openDB('kv', MSGPACK),
  };
}

/**
 * Makes the data directory's entries durable (POSIX: an fsync of a new file does not persist its
 * name; only an fsync of the directory does), so the files LMDB just created survive a power cut.
 */
function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function openLmdbEnv(dir: string, overlappingSync: boolean): LmdbEnv {
  mkdirSync(dir, { recursive: true });
  const root = openRoot(dir, overlappingSync);
  const meta = root.openDB<unknown, string>('meta', MSGPACK);
  const stored = meta.get('formatVersion');
  if (stored !== undefined && !READABLE_FORMATS.includes(stored as number)) {
    root.close();
    throw new WeirError(
      'STORE_FORMAT_MISMATCH',
      `data directory ${dir} has store format ${String(stored)}, this Weir reads formats ${READABLE_FORMATS.join(' and ')}: run the Weir version that wrote it, or point store.dir elsewhere`,
      { details: { dir, version: stored } },
    );
  }
  const format = (stored as number | undefined) ?? STORE_FORMAT_VERSION;
  if (stored === undefined) meta.putSync('formatVersion', format);
  fsyncDir(dir);
  return openHandles(root, format);
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

/**
 * Runs `build` inside one lmdb-js write transaction, whose writes apply only if `mustExist` (a key
 * of `db`) is stored when the transaction runs: the group committer passes the last batch key of
 * the transaction before, so when that one failed, this one writes nothing and resolves false.
 */
export function writeIfExists(db: Database<Buffer, Buffer>, mustExist: Buffer | undefined, build: () => void): Promise<boolean> {
  return mustExist === undefined ? db.batch(build) : db.ifVersion(mustExist, IF_EXISTS, build);
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
