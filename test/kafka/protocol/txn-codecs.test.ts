/**
 * The transaction APIs' codecs (AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit,
 * v0–3 each): bytes assembled by hand, field by field from Kafka's message specs
 * (clients/src/main/resources/common/message/*.json), without Weir's Reader or Writer.
 */
import { describe, expect, it } from 'vitest';
import { decodeAddOffsetsToTxnRequest, encodeAddOffsetsToTxnResponse } from '../../../src/kafka/protocol/apis/add-offsets-to-txn.js';
import { decodeAddPartitionsToTxnRequest, encodeAddPartitionsToTxnResponse } from '../../../src/kafka/protocol/apis/add-partitions-to-txn.js';
import { decodeEndTxnRequest, encodeEndTxnResponse } from '../../../src/kafka/protocol/apis/end-txn.js';
import { decodeTxnOffsetCommitRequest, encodeTxnOffsetCommitResponse } from '../../../src/kafka/protocol/apis/txn-offset-commit.js';
import { Reader } from '../../../src/kafka/protocol/reader.js';
import { Writer } from '../../../src/kafka/protocol/writer.js';

const i8 = (v: number): Buffer => Buffer.from([v & 0xff]);
const i16 = (v: number): Buffer => { const b = Buffer.alloc(2); b.writeInt16BE(v); return b; };
const i32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(v); return b; };
const i64 = (v: number): Buffer => { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(v)); return b; };
/** Unsigned varints below 128 are one byte: every length in these tests is. */
const uv = (v: number): Buffer => { expect(v).toBeLessThan(128); return Buffer.from([v]); };
const TAGS = Buffer.from([0]);

/** STRING (classic: int16 length) or COMPACT_STRING (flexible: uvarint length + 1). */
function str(s: string, flexible: boolean): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([flexible ? uv(bytes.length + 1) : i16(bytes.length), bytes]);
}
function nullableStr(s: string | null, flexible: boolean): Buffer {
  if (s !== null) return str(s, flexible);
  return flexible ? uv(0) : i16(-1);
}
/** ARRAY (int32 count) or COMPACT_ARRAY (uvarint count + 1) of already encoded elements. */
function arr(elements: Buffer[], flexible: boolean): Buffer {
  return Buffer.concat([flexible ? uv(elements.length + 1) : i32(elements.length), ...elements]);
}
/** The empty tagged-field buffer, only in flexible versions. */
const tags = (flexible: boolean): Buffer => (flexible ? TAGS : Buffer.alloc(0));

function written(write: (w: Writer) => void): Buffer {
  const w = new Writer();
  write(w);
  return w.toBuffer();
}

function decodedWhole<T>(bytes: Buffer, decode: (r: Reader, v: number) => T, version: number): T {
  const r = new Reader(bytes);
  const out = decode(r, version);
  expect(r.remaining).toBe(0);
  return out;
}

const VERSIONS = [0, 1, 2, 3];
const PID = 1_733_550_000_123_456;

describe('AddPartitionsToTxn', () => {
  it.each(VERSIONS)('v%i request and response', (v) => {
    const f = v >= 3;
    const request = Buffer.concat([
      str('tx-1', f), i64(PID), i16(7),
      arr([
        Buffer.concat([str('out', f), arr([i32(0), i32(2)], f), tags(f)]),
        Buffer.concat([str('other', f), arr([i32(1)], f), tags(f)]),
      ], f),
      tags(f),
    ]);
    expect(decodedWhole(request, decodeAddPartitionsToTxnRequest, v)).toEqual({
      transactionalId: 'tx-1', producerId: PID, producerEpoch: 7,
      topics: [{ name: 'out', partitions: [0, 2] }, { name: 'other', partitions: [1] }],
    });
    const response = Buffer.concat([
      i32(0),
      arr([Buffer.concat([str('out', f), arr([Buffer.concat([i32(0), i16(0), tags(f)]), Buffer.concat([i32(2), i16(48), tags(f)])], f), tags(f)])], f),
      tags(f),
    ]);
    expect(written((w) => encodeAddPartitionsToTxnResponse(w, v, {
      throttleTimeMs: 0,
      results: [{ name: 'out', partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 2, errorCode: 48 }] }],
    }))).toEqual(response);
  });
});

describe('AddOffsetsToTxn', () => {
  it.each(VERSIONS)('v%i request and response', (v) => {
    const f = v >= 3;
    const request = Buffer.concat([str('tx-1', f), i64(PID), i16(3), str('group-a', f), tags(f)]);
    expect(decodedWhole(request, decodeAddOffsetsToTxnRequest, v)).toEqual({ transactionalId: 'tx-1', producerId: PID, producerEpoch: 3, groupId: 'group-a' });
    expect(written((w) => encodeAddOffsetsToTxnResponse(w, v, { throttleTimeMs: 0, errorCode: 90 }))).toEqual(Buffer.concat([i32(0), i16(90), tags(f)]));
  });
});

describe('EndTxn', () => {
  it.each(VERSIONS)('v%i request (commit and abort) and response', (v) => {
    const f = v >= 3;
    for (const committed of [true, false]) {
      const request = Buffer.concat([str('tx-1', f), i64(PID), i16(0), i8(committed ? 1 : 0), tags(f)]);
      expect(decodedWhole(request, decodeEndTxnRequest, v)).toEqual({ transactionalId: 'tx-1', producerId: PID, producerEpoch: 0, committed });
    }
    expect(written((w) => encodeEndTxnResponse(w, v, { throttleTimeMs: 0, errorCode: 47 }))).toEqual(Buffer.concat([i32(0), i16(47), tags(f)]));
  });
});

describe('TxnOffsetCommit', () => {
  it.each(VERSIONS)('v%i request and response', (v) => {
    const f = v >= 3;
    const partition = (index: number, offset: number, metadata: string | null): Buffer =>
      Buffer.concat([i32(index), i64(offset), ...(v >= 2 ? [i32(5)] : []), nullableStr(metadata, f), tags(f)]);
    const request = Buffer.concat([
      str('tx-1', f), str('group-a', f), i64(PID), i16(2),
      ...(v >= 3 ? [i32(4), str('member-1', f), nullableStr('instance-1', f)] : []),
      arr([Buffer.concat([str('in', f), arr([partition(0, 42, null), partition(1, 7, 'meta')], f), tags(f)])], f),
      tags(f),
    ]);
    expect(decodedWhole(request, decodeTxnOffsetCommitRequest, v)).toEqual({
      transactionalId: 'tx-1', groupId: 'group-a', producerId: PID, producerEpoch: 2,
      generationId: v >= 3 ? 4 : -1, memberId: v >= 3 ? 'member-1' : '', groupInstanceId: v >= 3 ? 'instance-1' : null,
      topics: [{
        name: 'in',
        partitions: [
          { partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: v >= 2 ? 5 : -1, committedMetadata: null },
          { partitionIndex: 1, committedOffset: 7, committedLeaderEpoch: v >= 2 ? 5 : -1, committedMetadata: 'meta' },
        ],
      }],
    });
    const response = Buffer.concat([
      i32(0),
      arr([Buffer.concat([str('in', f), arr([Buffer.concat([i32(0), i16(0), tags(f)]), Buffer.concat([i32(1), i16(22), tags(f)])], f), tags(f)])], f),
      tags(f),
    ]);
    expect(written((w) => encodeTxnOffsetCommitResponse(w, v, {
      throttleTimeMs: 0,
      topics: [{ name: 'in', partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 1, errorCode: 22 }] }],
    }))).toEqual(response);
  });

  it('a null group_instance_id at v3 is the compact null (length 0)', () => {
    const request = Buffer.concat([str('t', true), str('g', true), i64(1), i16(0), i32(-1), str('', true), uv(0), arr([], true), TAGS]);
    expect(decodedWhole(request, decodeTxnOffsetCommitRequest, 3)).toMatchObject({ generationId: -1, memberId: '', groupInstanceId: null, topics: [] });
  });
});
