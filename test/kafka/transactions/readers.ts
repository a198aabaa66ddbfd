/**
 * What consumers see of a topic written by transactions, read by independent clients to the end
 * their isolation level allows: kcat (librdkafka 2.0.2) and kafka-javascript (librdkafka 2.15)
 * under read_committed (to the last stable offset, aborted records dropped) or read_uncommitted
 * (to the high watermark); kafka-python 2.0.2, which has no isolation level (it always fetches
 * read_uncommitted) and hands the application every record of every batch, the transaction
 * markers' control records included, as Kafka's brokers send them. The end offsets a client is
 * told by ListOffsets under each isolation level come from librdkafka too.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connected, disconnected, loadCkjs, type Ckjs } from '../server/ckjs.js';
import { requireKcat, requireTool } from '../../helpers/required-tools.js';
import { PYTHON, type Placed } from './txn-clients.js';

export type Isolation = 'read_committed' | 'read_uncommitted';

const run = promisify(execFile);
const byPosition = (a: Placed, b: Placed) => a[0] - b[0] || a[1] - b[1];

/** kcat -C from the beginning of every partition to its end under `isolation` (-e), as JSON. */
export async function readWithKcat(bootstrap: string, topic: string, isolation: Isolation): Promise<Placed[]> {
  requireKcat();
  const args = ['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-q', '-X', `isolation.level=${isolation}`];
  const { stdout } = await run('kcat', args, { timeout: 30_000, maxBuffer: 256 << 20 });
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l): Placed => {
      const m = JSON.parse(l) as { partition: number; offset: number; payload: string | null };
      return [m.partition, m.offset, m.payload ?? ''];
    })
    .sort(byPosition);
}

/**
 * A kafka-javascript consumer of `partitions` from offset 0, outside any group, that keeps the
 * end offset each partition last reported (partition EOF: the last stable offset under
 * read_committed, the high watermark under read_uncommitted).
 */
export class CkjsReader {
  /** Per partition, the offset of its last EOF; -1 before the first. */
  readonly ends: number[];

  private constructor(readonly consumer: Ckjs.KafkaConsumer, partitions: number) {
    this.ends = Array.from({ length: partitions }, () => -1);
    consumer.on('partition.eof', (e: { partition: number; offset: number }) => (this.ends[e.partition] = e.offset));
  }

  static async open(bootstrap: string, topic: string, partitions: number, isolation: Isolation): Promise<CkjsReader> {
    const ckjs = loadCkjs();
    const consumer = new ckjs.KafkaConsumer(
      {
        'bootstrap.servers': bootstrap, 'group.id': `reader-${Math.random()}`, 'enable.auto.commit': false,
        'isolation.level': isolation, 'enable.partition.eof': true, 'fetch.wait.max.ms': 100,
      },
      { 'auto.offset.reset': 'earliest' },
    );
    await connected(consumer);
    consumer.setDefaultConsumeTimeout(100);
    consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })));
    return new CkjsReader(consumer, partitions);
  }

  /**
   * Consumes until every partition has reported its end at `atLeast[p]` or beyond (by default:
   * any end), or `timeoutMs` passes: what arrived meanwhile, in partition and offset order.
   */
  async readTo(atLeast: number[] = [], timeoutMs = 20_000): Promise<Placed[]> {
    const records: Placed[] = [];
    const deadline = Date.now() + timeoutMs;
    while (this.ends.some((end, p) => end < Math.max(0, atLeast[p] ?? 0)) && Date.now() < deadline) {
      const batch = await new Promise<Ckjs.Message[]>((resolve, reject) => this.consumer.consume(1000, (err, m) => (err ? reject(err) : resolve(m))));
      for (const m of batch) records.push([m.partition, m.offset, m.value?.toString() ?? '']);
    }
    return records.sort(byPosition);
  }

  close(): Promise<void> {
    return disconnected(this.consumer);
  }
}

export async function readWithCkjs(bootstrap: string, topic: string, partitions: number, isolation: Isolation): Promise<Placed[]> {
  const reader = await CkjsReader.open(bootstrap, topic, partitions, isolation);
  try {
    const records = await reader.readTo();
    if (reader.ends.some((e) => e < 0)) throw new Error(`kafka-javascript (${isolation}) did not reach the end of ${topic} in 20 s: ends ${reader.ends.join(', ')}`);
    return records;
  } finally {
    await reader.close();
  }
}

/** The latest offset ListOffsets gives a librdkafka client of `isolation`: the last stable offset, or the high watermark. */
export async function latestOffsets(bootstrap: string, topic: string, partitions: number, isolation: Isolation): Promise<number[]> {
  const { consumer } = await CkjsReader.open(bootstrap, topic, 0, isolation);
  try {
    return await Promise.all(Array.from({ length: partitions }, (_, partition) =>
      new Promise<number>((resolve, reject) => consumer.queryWatermarkOffsets(topic, partition, 10_000, (err, o) => (err ? reject(err) : resolve(o.highOffset))))));
  } finally {
    await disconnected(consumer);
  }
}

/** A record as kafka-python 2.0.2 hands it over; `control` when it is a transaction marker's record. */
export interface PythonSeen {
  partition: number;
  offset: number;
  /** The value as text; a control record's as hex (KIP-98: version int16, coordinator epoch int32). */
  value: string;
  /** The control record's type (0 ABORT, 1 COMMIT), from its key, when the batch is a control batch. */
  control: 'ABORT' | 'COMMIT' | null;
}

/**
 * kafka-python's KafkaConsumer, assigned every partition from the beginning, polled until its
 * position reaches the high watermark. A record whose batch is a control batch (attributes bit
 * 5) is named by its key's type (KIP-98: version int16, type int16).
 */
const PYTHON_READER = `
import sys, json, time
from kafka import KafkaConsumer, TopicPartition
from kafka.record.default_records import DefaultRecordBatch
bootstrap, topic, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3])
controls = set()
original = DefaultRecordBatch.__next__
def remember(batch):
    r = original(batch)
    if batch.is_control_batch:
        controls.add((r.offset, bytes(r.key).hex()))
    return r
DefaultRecordBatch.__next__ = remember
consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset='earliest')
tps = [TopicPartition(topic, p) for p in range(partitions)]
consumer.assign(tps)
consumer.seek_to_beginning(*tps)
end = consumer.end_offsets(tps)
out = []
deadline = time.time() + 20
while any(consumer.position(tp) < end[tp] for tp in tps) and time.time() < deadline:
    for records in consumer.poll(timeout_ms=200).values():
        for r in records:
            key = None if r.key is None else bytes(r.key).hex()
            out.append([r.partition, r.offset, key, None if r.value is None else bytes(r.value).hex()])
consumer.close()
print(json.dumps({"records": out, "controls": sorted([list(c) for c in controls])}))
`;

const CONTROL_TYPES: Record<string, 'ABORT' | 'COMMIT'> = { '00000000': 'ABORT', '00000001': 'COMMIT' };

export async function readWithKafkaPython(bootstrap: string, topic: string, partitions: number): Promise<PythonSeen[]> {
  requireTool('python3 with kafka-python', [PYTHON, ['-c', 'import kafka']], 'apt-get install -y python3-kafka');
  const { stdout } = await run(PYTHON, ['-c', PYTHON_READER, bootstrap, topic, String(partitions)], { timeout: 40_000, maxBuffer: 256 << 20 });
  const { records, controls } = JSON.parse(stdout) as { records: [number, number, string | null, string | null][]; controls: [number, string][] };
  const controlAt = new Set(controls.map(([offset, key]) => `${offset}/${key}`));
  return records
    .map(([partition, offset, key, value]): PythonSeen => {
      const control = key !== null && controlAt.has(`${offset}/${key}`) ? (CONTROL_TYPES[key] ?? null) : null;
      return { partition, offset, value: control !== null ? (value ?? '') : Buffer.from(value ?? '', 'hex').toString(), control };
    })
    .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}
