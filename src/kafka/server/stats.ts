/**
 * The Kafka listener's counters: plain numbers bumped on the hot path and read by the metrics
 * and status page at scrape time (the MQTT bridge's pattern), plus an optional observer for the
 * request latency histogram, which needs each observation.
 */
import { ApiKey } from '../protocol/api-keys.js';
import type { FetchResponse } from '../protocol/apis/fetch.js';
import type { ProduceRequest, ProduceResponse } from '../protocol/apis/produce.js';
import { errorName } from '../protocol/error-codes.js';

export const CLOSE_REASONS = ['bad_input', 'max_connections', 'auth_failed', 'unauthenticated_request', 'tls_handshake', 'idle', 'slow_request', 'evicted_idle'] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

export type RequestObserver = (api: string, error: string, seconds: number) => void;

export class KafkaServerStats {
  connectionsAccepted = 0;
  readonly closed: Record<CloseReason, number> = {
    bad_input: 0, max_connections: 0, auth_failed: 0, unauthenticated_request: 0, tls_handshake: 0, idle: 0, slow_request: 0, evicted_idle: 0,
  };
  bytesIn = 0;
  bytesOut = 0;
  /** Records in produce requests that were appended (per-partition error 0, or acks=0). */
  recordsProduced = 0;
  /** Records in the batches fetch responses returned. */
  recordsFetched = 0;
  /** Requests by `api\0error` (error NONE or Kafka's name of the first error in the response). */
  readonly requests = new Map<string, number>();
  observer: RequestObserver | undefined;

  /** Counts one answered request: its outcome, its latency, and for Produce/Fetch its records. */
  request(apiKey: number, api: string, request: unknown, response: unknown, seconds: number): void {
    const error = response === undefined ? 'NONE' : firstError(response, 0);
    const key = `${api}\0${error}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    this.observer?.(api, error, seconds);
    if (apiKey === ApiKey.Produce) this.recordsProduced += producedRecords(request, response);
    else if (apiKey === ApiKey.Fetch) this.recordsFetched += fetchedRecords(response);
  }
}

/** Kafka's name of the first non-zero `errorCode` in a response, or NONE; record data is not walked. */
export function firstError(value: unknown, depth: number): string {
  if (depth > 6 || value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return 'NONE';
  if (Array.isArray(value)) {
    for (const v of value) {
      const e = firstError(v, depth + 1);
      if (e !== 'NONE') return e;
    }
    return 'NONE';
  }
  const o = value as Record<string, unknown>;
  if (typeof o.errorCode === 'number' && o.errorCode !== 0) return errorName(o.errorCode) ?? `UNKNOWN_${o.errorCode}`;
  for (const [k, v] of Object.entries(o)) {
    if (k === 'records' || k === 'batches' || k === 'errorCode') continue;
    if (typeof v === 'object' && v !== null) {
      const e = firstError(v, depth + 1);
      if (e !== 'NONE') return e;
    }
  }
  return 'NONE';
}

/** RecordBatch v2: records_count is the int32 at byte 57 (KIP-98 layout); batch length at byte 8. */
function batchRecords(buf: Buffer): number {
  let n = 0;
  for (let at = 0; at + 61 <= buf.length;) {
    n += Math.max(0, buf.readInt32BE(at + 57));
    const size = 12 + buf.readInt32BE(at + 8);
    if (size <= 12) break;
    at += size;
  }
  return n;
}

function producedRecords(request: unknown, response: unknown): number {
  const req = request as ProduceRequest;
  const res = response as ProduceResponse | undefined;
  let n = 0;
  req.topics.forEach((t, ti) => {
    const errors = res?.responses[ti]?.partitions;
    for (const p of t.partitions) {
      if (p.records === null) continue;
      const e = errors?.find((x) => x.index === p.index)?.errorCode ?? 0;
      if (e === 0) n += batchRecords(p.records);
    }
  });
  return n;
}

function fetchedRecords(response: unknown): number {
  let n = 0;
  for (const t of (response as FetchResponse | undefined)?.responses ?? []) {
    for (const p of t.partitions) for (const b of p.records) n += batchRecords(b);
  }
  return n;
}
