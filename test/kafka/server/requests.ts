/** Request bodies for raw-socket tests, written with the protocol Writer (decoders are checked against kafkajs in golden.test.ts). */
import { Writer } from '../../../src/kafka/protocol/writer.js';
import { Reader } from '../../../src/kafka/protocol/reader.js';

export function produceBody(opts: { acks: number; topic: string; partition: number; records: Buffer | null; version?: number }): Buffer {
  const w = new Writer();
  if ((opts.version ?? 3) >= 3) w.nullableString(null);
  w.int16(opts.acks).int32(5000);
  w.array([0], false, (w) => {
    w.string(opts.topic).array([0], false, (w) => w.int32(opts.partition).nullableBytes(opts.records));
  });
  return w.toBuffer();
}

/** Fetch v4 body for one partition. */
export function fetchBody(opts: { topic: string; partition: number; offset: number; maxWaitMs: number; minBytes: number; maxBytes?: number; partitionMaxBytes?: number }): Buffer {
  const w = new Writer().int32(-1).int32(opts.maxWaitMs).int32(opts.minBytes).int32(opts.maxBytes ?? 1 << 20).int8(0);
  w.array([0], false, (w) => w.string(opts.topic).array([0], false, (w) => w.int32(opts.partition).int64(opts.offset).int32(opts.partitionMaxBytes ?? 1 << 20)));
  return w.toBuffer();
}

export function metadataBody(version: number, topics: string[] | null): Buffer {
  const w = new Writer().nullableArray(topics, false, (w, t) => w.string(t));
  if (version >= 4) w.bool(true);
  return w.toBuffer();
}

export function correlationOf(frame: Buffer): number {
  return frame.readInt32BE(0);
}

/** Produce v3+ response (non-flexible), one topic, one partition. */
export function readProduceResponse(frame: Buffer, version: number): {
  errorCode: number; baseOffset: number; logStartOffset: number;
  /** v8 (the last version this reads as non-flexible) and later only. */
  recordErrors?: { batchIndex: number; message: string | null }[]; errorMessage?: string | null;
} {
  const r = new Reader(frame, 4);
  r.int32(); // topics
  r.string();
  r.int32(); // partitions
  r.int32();
  const errorCode = r.int16();
  const baseOffset = r.int64();
  if (version >= 2) r.int64();
  const logStartOffset = version >= 5 ? r.int64() : -1;
  if (version < 8) return { errorCode, baseOffset, logStartOffset };
  const recordErrors = r.array(false, (r) => ({ batchIndex: r.int32(), message: r.nullableString() }));
  return { errorCode, baseOffset, logStartOffset, recordErrors, errorMessage: r.nullableString() };
}

/** Fetch v4 response, one topic, one partition. */
export function readFetchResponse(frame: Buffer): { errorCode: number; highWatermark: number; records: Buffer | null } {
  const r = new Reader(frame, 4);
  r.int32(); // throttle
  r.int32();
  r.string();
  r.int32();
  r.int32();
  const errorCode = r.int16();
  const highWatermark = r.int64();
  r.int64(); // last stable
  r.nullableArray(false, (r) => [r.int64(), r.int64()]);
  return { errorCode, highWatermark, records: r.nullableBytes() };
}

/** Metadata v1 response: topic names and error codes. */
export function readMetadataTopics(frame: Buffer): { name: string; errorCode: number; partitions: number }[] {
  const r = new Reader(frame, 4);
  r.array(false, (r) => [r.int32(), r.string(), r.int32(), r.nullableString()]);
  r.int32(); // controller
  return r.array(false, (r) => {
    const errorCode = r.int16();
    const name = r.string();
    r.bool();
    const partitions = r.array(false, (r) => [r.int16(), r.int32(), r.int32(), r.array(false, (r) => r.int32()), r.array(false, (r) => r.int32())]).length;
    return { name, errorCode, partitions };
  });
}
