/**
 * Fetch v4–12: whole stored batches, as stored (the first may start before fetch_offset; clients
 * skip the records below it), long-polled.
 *
 * - max_bytes and partition_max_bytes are clamped to kafka.fetch_max_bytes (Kafka's broker-side
 *   `fetch.max.bytes`), so a request asking for 2 GB gets at most that, and to what is left of
 *   kafka.max_queued_response_bytes (ctx.fetchBytes), which the response holds until written.
 * - KIP-74: the first non-empty partition always gets at least one whole batch, even beyond
 *   max_bytes / partition_max_bytes; later partitions only get what fits in what is left.
 * - Every requested partition is in the response; empty record sets are zero-length, not null.
 * - No fetch sessions (KIP-227): session_id 0 tells the client to send full requests.
 * - Transactions (KIP-98): isolation_level 1 (read_committed) reads up to the last stable offset
 *   and lists the aborted transactions its records may hold; read_uncommitted reads up to the
 *   high watermark with a null list. Both get the last stable offset.
 * - Long poll: answer at once when min_bytes are there, a partition has an error, or max_wait_ms
 *   is 0; else wait until an append moves any requested partition's high watermark
 *   (store.waitForData), max_wait_ms passes, or the connection closes.
 */
import { isWeirError } from '../../../errors.js';
import type { IsolationLevel, RecordLog } from '../../../store/types.js';
import { readBatchHeader } from '../../protocol/record-batch.js';
import { ApiKey } from '../../protocol/api-keys.js';
import { decodeFetchRequest, encodeFetchResponse, FETCH_FIRST_FLEXIBLE, type FetchPartitionResponse, type FetchRequest, type FetchResponse } from '../../protocol/apis/fetch.js';
import { errorCode } from '../../protocol/error-codes.js';
import { kafkaErrorCode } from '../errors.js';
import { defineHandler } from '../handler.js';

/** Upper bound on a long poll whatever the client asks (Java's default is 500 ms, kafkajs 5 s). */
const MAX_WAIT_CAP_MS = 30_000;

interface ReadPass {
  response: FetchResponse;
  bytes: number;
  hasError: boolean;
  /** (topic, partition, offset read up to) to wait on for the next pass. */
  waitable: { topic: string; partition: number; end: number }[];
}

function readAll(store: RecordLog, req: FetchRequest, fetchMaxBytes: number): ReadPass {
  const isolation = isolationOf(req);
  let remaining = req.maxBytes > 0 ? Math.min(req.maxBytes, fetchMaxBytes) : fetchMaxBytes;
  let bytes = 0;
  let hasError = false;
  const waitable: ReadPass['waitable'] = [];
  const responses = req.topics.map((t) => ({
    topic: t.topic,
    partitions: t.partitions.map((p): FetchPartitionResponse => {
      const out: FetchPartitionResponse = {
        partitionIndex: p.partition, errorCode: 0, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1,
        abortedTransactions: isolation === 'read_committed' ? [] : null, records: [], recordsBytes: 0,
      };
      try {
        const limit = Math.max(0, Math.min(p.partitionMaxBytes, fetchMaxBytes, remaining));
        const r = store.read(t.topic, p.partition, p.fetchOffset, Math.max(limit, 1), isolation);
        out.highWatermark = r.highWatermark;
        out.lastStableOffset = r.lastStableOffset;
        out.logStartOffset = r.logStartOffset;
        // KIP-74: only the first non-empty partition may exceed what is left.
        if (r.bytes > 0 && (bytes === 0 || r.bytes <= remaining)) {
          out.records = r.batches;
          out.recordsBytes = r.bytes;
          bytes += r.bytes;
          remaining -= r.bytes;
          if (isolation === 'read_committed') out.abortedTransactions = store.abortedTransactions(t.topic, p.partition, p.fetchOffset, endOfBatches(r.batches));
        }
        const end = isolation === 'read_committed' ? r.lastStableOffset : r.highWatermark;
        waitable.push({ topic: t.topic, partition: p.partition, end });
      } catch (err) {
        hasError = true;
        out.errorCode = kafkaErrorCode(err);
        if (isWeirError(err, 'OFFSET_OUT_OF_RANGE')) {
          const o = store.offsets(t.topic, p.partition);
          out.highWatermark = o.highWatermark;
          out.lastStableOffset = o.lastStableOffset;
          out.logStartOffset = o.logStartOffset;
        }
      }
      return out;
    }),
  }));
  return { response: { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses }, bytes, hasError, waitable };
}

export function createFetchHandler(deps: { store: RecordLog }) {
  const { store } = deps;
  return defineHandler({
    apiKey: ApiKey.Fetch,
    name: 'Fetch',
    minVersion: 4,
    maxVersion: 12,
    firstFlexibleVersion: FETCH_FIRST_FLEXIBLE,
    decode: decodeFetchRequest,
    encode: encodeFetchResponse,
    async handle(req, ctx) {
      if (req.sessionId !== 0) {
        // We never hand out a session id, so any other one is unknown to us.
        return { throttleTimeMs: 0, errorCode: errorCode('FETCH_SESSION_ID_NOT_FOUND'), sessionId: 0, responses: [] };
      }
      const deadline = Date.now() + Math.min(Math.max(req.maxWaitMs, 0), MAX_WAIT_CAP_MS);
      const signal = ctx.connection.signal;
      // Read and held in one synchronous step, so concurrent fetches cannot overdraw the cap.
      const answer = (pass: ReadPass): FetchResponse => {
        ctx.fetchBytes.hold(pass.bytes);
        return pass.response;
      };
      for (;;) {
        const pass = readAll(store, req, ctx.fetchBytes.limit());
        const left = deadline - Date.now();
        if (pass.bytes >= req.minBytes || pass.hasError || left <= 0 || signal.aborted || pass.waitable.length === 0) return answer(pass);
        const stop = new AbortController();
        const onAbort = () => stop.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          const woken = await Promise.race(pass.waitable.map((w) => store.waitForData(w.topic, w.partition, w.end, left, stop.signal, isolationOf(req))));
          // false: timed out, aborted, or the store's waiter cap was reached: answer with what there is.
          if (!woken) return answer(readAll(store, req, ctx.fetchBytes.limit()));
        } finally {
          stop.abort();
          signal.removeEventListener('abort', onAbort);
        }
      }
    },
  });
}

/** Fetch's isolation_level: 1 is read_committed; anything else reads uncommitted, as Kafka. */
function isolationOf(req: FetchRequest): IsolationLevel {
  return req.isolationLevel === 1 ? 'read_committed' : 'read_uncommitted';
}

/** One past the last offset of the last batch. */
function endOfBatches(batches: Buffer[]): number {
  const last = readBatchHeader(batches.at(-1)!);
  return last.baseOffset + last.lastOffsetDelta + 1;
}
