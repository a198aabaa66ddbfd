/**
 * Exact Kafka bytes for the hostile suite, written with Weir's own codec (src/kafka/protocol/):
 * request frames, a few request bodies, and (from raw-kafka.ts) a raw socket that collects
 * response frames.
 */
import { ApiKey } from '../../src/kafka/protocol/api-keys.js';
import { writeRequestHeader } from '../../src/kafka/protocol/header.js';
import { Reader } from '../../src/kafka/protocol/reader.js';
import { Writer } from '../../src/kafka/protocol/writer.js';

/** size, request header v1, body. */
export function requestFrame(apiKey: number, apiVersion: number, correlationId: number, body: (w: Writer) => void): Buffer {
  const w = new Writer();
  w.int32(0);
  writeRequestHeader(w, { apiKey, apiVersion, correlationId, clientId: 'hostile' }, false);
  body(w);
  const frame = w.toBuffer();
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

/** Metadata v4 naming `topics`, auto-creation allowed. */
export const metadataV4 = (correlationId: number, topics: string[]): Buffer =>
  requestFrame(ApiKey.Metadata, 4, correlationId, (w) => w.array(topics, false, (w, t) => w.string(t)).bool(true));

/** Produce v3, acks=1, one partition. */
export const produceV3 = (correlationId: number, topic: string, partition: number, records: Buffer): Buffer =>
  requestFrame(ApiKey.Produce, 3, correlationId, (w) => {
    w.nullableString(null).int16(1).int32(10_000);
    w.array([0], false, (w) => w.string(topic).array([0], false, (w) => w.int32(partition).nullableBytes(records)));
  });

/** Error code of a Produce v3 response for one partition (the frame without its size). */
export function produceErrorCode(frame: Buffer): number {
  const r = new Reader(frame, 4);
  r.int32();
  r.string();
  r.int32();
  r.int32();
  return r.int16();
}

/** The hostile suite's name for the shared raw Kafka connection. */
export { RawClient as RawKafka } from './raw-kafka.js';
