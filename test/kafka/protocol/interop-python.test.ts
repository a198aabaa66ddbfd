import { spawnSync } from 'node:child_process';
import { describe, it, expect } from 'vitest';
import { requireTool } from '../../helpers/required-tools.js';
import { encodeRecordBatch, type RecordInput } from '../../../src/kafka/protocol/record-batch.js';
import { CompressionType } from '../../../src/kafka/protocol/compression.js';

/**
 * Our encoder's output read by kafka-python's DefaultRecordBatch with the reference C codecs
 * behind it (python-snappy -> libsnappy, python-lz4 -> liblz4's LZ4F frame decoder). Needs
 * Debian's python3-kafka, python3-snappy and python3-lz4 (.ci/run installs them); without them
 * the file fails with the install command.
 */

const PYTHON = '/usr/bin/python3';
const READER = `
import sys, json
from kafka.record.default_records import DefaultRecordBatch
out = []
for line in sys.stdin:
    batch = DefaultRecordBatch(bytearray(bytes.fromhex(line.strip())))
    assert batch.validate_crc()
    out.append([[r.offset, r.timestamp, r.key and r.key.decode(), r.value and r.value.decode(),
                 [[k, v and v.decode()] for k, v in r.headers]] for r in batch])
print(json.dumps(out))
`;

requireTool(
  'python3 with kafka-python, snappy and lz4',
  [PYTHON, ['-c', 'import kafka.codec as c; assert c.has_snappy() and c.has_lz4()']],
  'apt-get install -y python3-kafka python3-snappy python3-lz4',
);

describe('interop: kafka-python reads batches we encode', () => {
  it('uncompressed, gzip, snappy and lz4 (small and multi-block) batches', () => {
    const make = (n: number, pad: number): RecordInput[] =>
      Array.from({ length: n }, (_, i) => ({
        key: i % 3 === 2 ? null : Buffer.from(`key-${i}`),
        value: Buffer.from(`{"seq":${i},"pad":"${'abc'.repeat(pad)}","t":${i * 17}}`),
        headers: i % 4 === 0 ? [{ key: 'h', value: Buffer.from(`v${i}`) }] : undefined,
        timestamp: 1700000000000 + i,
      }));
    const cases: Array<[CompressionType, RecordInput[]]> = [];
    for (const c of [CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4]) {
      cases.push([c, make(10, 1)], [c, make(800, 60)]); // the second is ~160 KB: three LZ4 blocks
    }
    const input = cases.map(([compression, records]) => encodeRecordBatch({ baseOffset: 0, records, compression }).toString('hex')).join('\n');
    const run = spawnSync(PYTHON, ['-c', READER], { input, maxBuffer: 64 * 1024 * 1024 });
    expect(run.stderr.toString()).toBe('');
    const decoded = JSON.parse(run.stdout.toString()) as unknown[];
    expect(decoded).toEqual(
      cases.map(([, records]) =>
        records.map((r, i) => [i, r.timestamp, r.key?.toString() ?? null, r.value?.toString() ?? null,
          (r.headers ?? []).map((h) => [h.key, h.value?.toString() ?? null])]),
      ),
    );
  });
});
