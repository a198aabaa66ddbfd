/**
 * One log cleaner pass over one partition (Kafka's `LogCleaner`): keep the latest record of
 * every key, offsets unchanged.
 *
 * 1. Map (map-build.ts): each key of the dirty records, [first dirty offset, end of the clean
 *    range), to its latest offset, in a fixed-size map; when it fills, the pass stops at the
 *    first record that did not fit (`mapEnd`) and the next pass goes on from there.
 * 2. Clean: every batch in [log start, mapEnd) is filtered (batch-filter.ts). A record goes when
 *    the map holds a later offset for its key, when it has no key (Kafka's cleaner drops those:
 *    a compacted topic refuses them), when it is a tombstone whose segment was first compacted
 *    more than `delete.retention.ms` ago, or when it belongs to an aborted transaction
 *    (aborted-walk.ts; Kafka's cleaner discards those too). A transaction marker goes like a
 *    tombstone, once no record of its transaction is left: see "Transactions" below. Only
 *    batches that lose records are written (flash wear); a batch left empty is deleted, except an
 *    idempotent producer's last batch, kept empty (producer-batches.ts). Segment rows get their new size, and once a pass has compacted a whole
 *    segment, `cleanedAt` (from when its tombstones count down) and its tombstone count; a
 *    segment left without a batch is folded into the one before it (chunk.ts).
 * 3. The writes go in chunks of about CHUNK_BYTES read, each one LMDB transaction (so group
 *    commits interleave and never wait long), made durable before the next, with the event loop
 *    given back between chunks. The checkpoint (the next first dirty offset, `mapEnd`) is written
 *    with the last chunk, so it moves only once every chunk before it is on disk.
 *
 * Why a crash (or an error, or close) between two chunks loses nothing. Each chunk is atomic, so
 * the log after a crash is the log before the pass with some chunks applied: a prefix of them,
 * LMDB commits being ordered. A chunk removes a record only if (a) the map holds a later offset
 * of its key, i.e. a later record of the key was stored in [first dirty, mapEnd) when the map was
 * built, or (b) it has no key, or (c) it is a tombstone past its horizon, or (d) the
 * aborted-transaction index says it belongs to an aborted transaction. The later record of (a)
 * is never an aborted one (those are not mapped), and is never removed by this or any pass
 * through rule (a) (no later offset of its key was in the map: it is the latest) nor (d), so
 * every key keeps its latest committed record, or loses only a tombstone, which is the deletion
 * the key's history ends with. Offsets are never rewritten: a kept batch
 * is put back under its own key, so no offset can appear twice. Re-running the pass after a crash
 * maps the same range again (the checkpoint did not move); the records removed meanwhile were
 * all superseded inside that range, so the new map holds the same latest offset for every key
 * it held, fills no earlier, and makes the same removals, minus those already made: a pass is
 * idempotent (the index rows rule (d) reads change only with the segments retention deletes).
 * Only rules (c) and (e) depend on the time, and they remove nothing but expired tombstones and
 * markers. (Deleting a producer's superseded empty batch removes no record at all.) Retention, the only
 * other writer of these rows, deletes whole segments from the log start, so it never leaves an
 * older record of a key while deleting its later one; it runs between chunks, never inside one.
 *
 * Transactions (KIP-98). No pass touches a record at or past the last stable offset (the clean
 * range ends before it, clean-plan.ts): an open transaction's records may still be aborted or
 * committed, so they neither replace a value nor are replaced, and every transaction a pass
 * meets has its marker durable, with the index row of an ABORT. Rule (d) is Kafka's: aborted
 * records were never visible to a read_committed consumer, and left in the log, one could
 * become a key's latest value and take the committed value's place. (e) A marker goes, as in
 * Kafka, when the walk met no batch of its transaction (its producer's transactional batches
 * since the producer's previous marker: all removed by earlier, durable chunks or passes) and
 * its segment's tombstone horizon has passed; an ABORT's index row goes in the same chunk. So a
 * compacted partition does not keep a marker per transaction for ever, and no reader is ever
 * left with records whose marker is gone, nor with an index row without its marker (a
 * read_committed reader would drop that producer's later records). A marker waiting only for
 * its horizon counts as a tombstone of its segment, so the pass that may remove it comes. A
 * marker's record is never a key of the map (filterBatch never asks about control records): its
 * 4-byte key is the marker's type, and mapped it would remove records whose key has those bytes.
 */
import { filterBatch, type FilteredRecord } from '../../kafka/protocol/batch-filter.js';
import { CONTROL_TYPE_ABORT, controlRecordType } from '../../kafka/protocol/control-batch.js';
import type { StoreCounters } from '../counters.js';
import { abortedRanges } from '../aborted-txn-index.js';
import type { HousekeepingLock } from '../housekeeping.js';
import { logKey } from '../keys.js';
import type { SegmentMeta } from '../lmdb-env.js';
import type { PartitionState } from '../partition.js';
import { AbortedTransactionWalk } from './aborted-walk.js';
import { Chunk } from './chunk.js';
import { tombstoneHorizonPassed, type CleanPlan } from './clean-plan.js';
import { buildOffsetMap, type MapBuildContext } from './map-build.js';
import { batchEnd, readBatches, type StoredBatch } from './stored-batch.js';
import type { KeyOffsetMap } from './offset-map.js';
import { ProducerEmptyBatches } from './producer-batches.js';

/** Batch bytes read per chunk (one transaction), and at most this many batches. */
export const CHUNK_BYTES = 1024 * 1024;
const CHUNK_BATCHES = 4096;

export interface CleanerContext extends MapBuildContext {
  counters: StoreCounters;
  lock: HousekeepingLock;
  map: KeyOffsetMap;
  /** Batch bytes read per chunk (CHUNK_BYTES but in tests). */
  chunkBytes: number;
  /** Whether `p` still belongs to the store (its topic was not deleted). */
  alive(p: PartitionState): boolean;
  /** Tests: called once each chunk but the last is durable; a throw interrupts the pass there. */
  betweenChunks?(chunk: number): void | Promise<void>;
}

export interface PassResult {
  recordsRemoved: number;
  bytesReclaimed: number;
  /** The new first dirty offset. */
  mapEnd: number;
  /** The map held every key of the clean range (else the next pass goes on from mapEnd). */
  mappedAll: boolean;
}

/**
 * Runs one pass over `p` as `plan` describes it. Resolves to what it did, or undefined when it
 * was stopped (store closing, topic deleted) before its checkpoint moved.
 */
export async function cleanPartition(ctx: CleanerContext, p: PartitionState, plan: CleanPlan, deleteRetentionMs: number, now: number): Promise<PassResult | undefined> {
  const previous = ctx.env.cleaner.get(p.id);
  const mapped = await buildOffsetMap(ctx, p, ctx.map, plan.firstDirty, plan.cleanEnd);
  if (mapped === undefined) return undefined;
  const mapEnd = Math.max(mapped, plan.firstDirty);
  const pass = new CleanerPass(ctx, p, ctx.map, mapped, deleteRetentionMs, now);
  const totals = { recordsRemoved: 0, bytesReclaimed: 0 };
  // Reading, filtering and writing a chunk hold the housekeeping lock together: retention may
  // delete segments between two chunks, never between a chunk's read and its write.
  const nextChunk = async (): Promise<boolean> => {
    if (ctx.stopped() || !ctx.alive(p)) return false;
    const chunk = pass.nextChunk();
    totals.bytesReclaimed -= chunk.bytesDelta;
    totals.recordsRemoved += chunk.recordsRemoved;
    if (chunk.empty && !pass.done) return true;
    await chunk.commit(ctx.env, p, ctx.counters, {
      firstDirtyOffset: pass.done ? mapEnd : (previous?.firstDirtyOffset ?? 0),
      lastCompactedAt: pass.done ? now : (previous?.lastCompactedAt ?? null),
      bytesReclaimed: (previous?.bytesReclaimed ?? 0) + totals.bytesReclaimed,
    });
    return true;
  };
  for (let index = 0; ; index++) {
    if (!(await ctx.lock.run(nextChunk))) return undefined;
    if (pass.done) return { ...totals, mapEnd, mappedAll: mapped >= plan.cleanEnd };
    await ctx.betweenChunks?.(index);
    await ctx.pause();
  }
}

/** The clean step's walk over [log start, mapEnd), one chunk at a time. */
class CleanerPass {
  done = false;
  /** Next batch to read: batches start at or after it. */
  private cursor: number;
  /** The segment being walked, its tombstones kept so far, and whether its tombstones may go. */
  private segment: SegmentMeta | undefined;
  private tombstones = 0;
  private horizonPassed = false;
  private readonly producers: ProducerEmptyBatches;
  private readonly aborted: AbortedTransactionWalk;
  /** The batch being filtered belongs to an aborted transaction: its records all go. */
  private discarding = false;
  /** Producers whose transactional batches the walk met since their last marker (rule (e)). */
  private readonly transactionsMet = new Set<number>();

  constructor(
    private readonly ctx: CleanerContext,
    private readonly p: PartitionState,
    private readonly map: KeyOffsetMap,
    private readonly mapEnd: number,
    private readonly deleteRetentionMs: number,
    private readonly now: number,
  ) {
    this.cursor = p.segments[0]?.baseOffset ?? p.logStartOffset;
    this.producers = new ProducerEmptyBatches(p);
    this.aborted = new AbortedTransactionWalk(abortedRanges(ctx.env, p.id, this.cursor, mapEnd));
  }

  /** Filters the next chunk's batches (run under the housekeeping lock). */
  nextChunk(): Chunk {
    const chunk = new Chunk();
    // After a failed group commit the store reloads every partition from disk (new segment
    // objects), and retention may have deleted segments: go on with the segment as it is now.
    const walked = this.segment;
    if (walked !== undefined && !this.p.segments.includes(walked)) this.segment = this.p.segments.find((s) => s.baseOffset === walked.baseOffset);
    const from = Math.max(this.cursor, this.p.segments[0]?.baseOffset ?? this.p.logStartOffset);
    const batches = readBatches(this.ctx.env, this.p, from, this.mapEnd, { maxBytes: this.ctx.chunkBytes, maxBatches: CHUNK_BATCHES, containing: false });
    for (const batch of batches) {
      const segment = this.segmentOf(batch.baseOffset, chunk);
      if (segment !== undefined) this.clean(batch, segment, chunk);
      this.cursor = batchEnd(batch);
    }
    if (batches.length === 0 || this.cursor >= this.mapEnd) {
      this.done = true;
      this.completeSegment(chunk);
    }
    return chunk;
  }

  /** The segment holding `offset`, completing the one walked before when it is another. */
  private segmentOf(offset: number, chunk: Chunk): SegmentMeta | undefined {
    if (this.segment !== undefined && offset < this.segment.nextOffset && offset >= this.segment.baseOffset) return this.segment;
    this.completeSegment(chunk);
    this.segment = this.p.segments.find((s) => offset >= s.baseOffset && offset < s.nextOffset);
    this.tombstones = 0;
    this.horizonPassed = this.segment !== undefined && tombstoneHorizonPassed(this.segment, this.deleteRetentionMs, this.now);
    return this.segment;
  }

  /** The walked segment, if the map covered all of it, is now compacted: note when and its tombstones. */
  private completeSegment(chunk: Chunk): void {
    const segment = this.segment;
    this.segment = undefined;
    if (segment === undefined || segment.nextOffset > this.mapEnd || !this.p.segments.includes(segment)) return;
    chunk.complete(this.p.segments, segment, this.now, this.tombstones);
  }

  private clean(batch: StoredBatch, segment: SegmentMeta, chunk: Chunk): void {
    this.discarding = this.aborted.aborted(batch);
    const result = filterBatch(batch.value, this.keep, true);
    const { header } = result;
    if (header.producerId >= 0) this.producers.supersede(header.producerId, chunk);
    if (header.isControl) return this.cleanMarker(batch, header.producerId, segment, chunk);
    if (header.isTransactional) this.transactionsMet.add(header.producerId);
    if (result.removed === 0 && header.recordCount > 0) return;
    let value = result.batch;
    if (result.kept === 0) {
      if (header.producerId >= 0) this.producers.keptEmpty(header.producerId, batch.baseOffset, value!.length);
      else value = null;
    }
    if (value === batch.value) return;
    chunk.rewrite(logKey(this.p.id, batch.baseOffset), value, segment, (value?.length ?? 0) - batch.value.length, result.removed);
  }

  /** Rule (e): the marker goes once none of its transaction's batches is left and its horizon has passed. */
  private cleanMarker(batch: StoredBatch, producerId: number, segment: SegmentMeta, chunk: Chunk): void {
    if (this.transactionsMet.delete(producerId)) return;
    if (!this.horizonPassed) {
      this.tombstones++;
      return;
    }
    const key = logKey(this.p.id, batch.baseOffset);
    chunk.rewrite(key, null, segment, -batch.value.length, 1);
    if (controlRecordType(batch.value) === CONTROL_TYPE_ABORT) chunk.dropAbortedTxnRow(key);
  }

  /** Whether a record stays (see the file comment); counts the tombstones that do. */
  private readonly keep = (record: FilteredRecord): boolean => {
    if (record.offset >= this.mapEnd) return true;
    if (this.discarding || record.key === null || this.map.get(record.key) > record.offset) return false;
    if (record.tombstone) {
      if (this.horizonPassed) return false;
      this.tombstones++;
    }
    return true;
  };
}
