/**
 * Typed access to kafkajs's internal RecordBatch v2 encoder and decoder (CommonJS, no types),
 * used as an independent implementation for golden-byte tests.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface KafkajsEncoder {
  buffer: Buffer;
}
export interface KafkajsRecordInput {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | Buffer[]>;
}
export interface KafkajsBatchInput {
  compression?: number;
  firstTimestamp: number;
  maxTimestamp: number;
  partitionLeaderEpoch?: number;
  lastOffsetDelta: number;
  producerId?: unknown;
  producerEpoch?: number;
  firstSequence?: number;
  records: KafkajsEncoder[];
}
export interface KafkajsDecodedRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null | Array<Buffer | null>>;
}
export interface KafkajsDecodedBatch {
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp: string;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  lastOffsetDelta: number;
  records: KafkajsDecodedRecord[];
}

const recordBatchModule = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (input: KafkajsBatchInput) => Promise<KafkajsEncoder>;
};
const recordEncoder = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (
  input: KafkajsRecordInput,
) => KafkajsEncoder;
const batchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (decoder: unknown) => Promise<KafkajsDecodedBatch>;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => unknown;
const murmur2Module = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;

export const kafkajsRecordBatch = recordBatchModule.RecordBatch;
export const kafkajsRecord = recordEncoder;
export const kafkajsMurmur2 = murmur2Module;

export function kafkajsDecodeBatch(buf: Buffer): Promise<KafkajsDecodedBatch> {
  return batchDecoder(new Decoder(buf));
}
