/**
 * Transactional producers (KIP-98) of two clients against `weir start`, read back as Kafka would
 * show them. librdkafka through kafka-javascript and python3-confluent-kafka each run committed
 * and aborted transactions over two partitions, with a plain record between; the log that must
 * result is worked out here from the plan alone (each transaction's records, then one marker per
 * partition it wrote, each marker taking one offset). Then read_committed readers (kcat,
 * kafka-javascript) see the committed and plain records at their offsets and nothing of the
 * aborted ones, read_uncommitted readers all data records, kafka-python 2.0.2 (no isolation
 * level: read_uncommitted, and it passes control records on to the application) the markers too,
 * COMMIT or ABORT; no librdkafka reader ever shows a control record. A read_committed consumer
 * stops at an open transaction (ListOffsets read_committed gives its first offset) and continues
 * once it commits, or once it aborts, without its records.
 */
import { describe, expect, it } from 'vitest';
import { CkjsReader, latestOffsets, readWithCkjs, readWithKafkaPython, readWithKcat, type PythonSeen } from './readers.js';
import { TXN_CLIENTS, type Placed, type TxnClient } from './txn-clients.js';
import { useWeir } from './weir-fixture.js';

const weir = useWeir('txn-interop');

/** One step of a plan: a transaction's records ([partition, value]) and its end, or a plain record. */
type Step = { records: [number, string][]; end: 'commit' | 'abort' } | { plain: [number, string] };

/** What a partition holds after a plan, offset by offset: a data record (and whether a read_committed consumer may see it), or a marker. */
type Slot = { value: string; visible: boolean } | { marker: 'COMMIT' | 'ABORT' };

function expectedLog(steps: Step[], partitions: number): Slot[][] {
  const log: Slot[][] = Array.from({ length: partitions }, () => []);
  for (const step of steps) {
    if ('plain' in step) {
      log[step.plain[0]]!.push({ value: step.plain[1], visible: true });
      continue;
    }
    for (const [p, value] of step.records) log[p]!.push({ value, visible: step.end === 'commit' });
    for (const p of new Set(step.records.map(([p]) => p))) log[p]!.push({ marker: step.end === 'commit' ? 'COMMIT' : 'ABORT' });
  }
  return log;
}

const dataRecords = (log: Slot[][], committedOnly: boolean): Placed[] =>
  log.flatMap((slots, p) => slots.flatMap((s, offset): Placed[] => ('value' in s && (s.visible || !committedOnly) ? [[p, offset, s.value]] : [])));

/** A marker's control record value: version 0, then the coordinator's epoch. */
const CONTROL_VALUE = expect.stringMatching(/^0000[0-9a-f]{8}$/) as unknown as string;

const asPython = (log: Slot[][]): PythonSeen[] =>
  log.flatMap((slots, partition) => slots.map((s, offset): PythonSeen => ('value' in s ? { partition, offset, value: s.value, control: null } : { partition, offset, value: CONTROL_VALUE, control: s.marker })));

const values = (prefix: string, n: number, partitions: number): [number, string][] => Array.from({ length: n }, (_, i) => [i % partitions, `${prefix}-${i}`]);

async function runPlan(client: TxnClient, topic: string, steps: Step[]): Promise<Placed[]> {
  const delivered: Placed[] = [];
  for (const step of steps) {
    if ('plain' in step) {
      await weir().producePlain(topic, step.plain[0], [step.plain[1]]);
      continue;
    }
    await client.begin();
    delivered.push(...(await client.send(topic, step.records)));
    await (step.end === 'commit' ? client.commit() : client.abort());
  }
  return delivered.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

describe.each(TXN_CLIENTS)('transactions by %s, read back by kcat, kafka-javascript and kafka-python', (label, startClient) => {
  it('commit, abort, plain, commit over two partitions: each reader sees what Kafka would show', async () => {
    const topic = `interop-${label}`;
    await weir().admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    const steps: Step[] = [
      { records: values('t1', 6, 2), end: 'commit' },
      { records: values('t2', 4, 2), end: 'abort' },
      { plain: [0, 'plain-0'] },
      { records: values('t3', 3, 2), end: 'commit' },
    ];
    const log = expectedLog(steps, 2);
    const client = await startClient(weir().bootstrap, `interop-${label}`);
    try {
      await client.init();
      const delivered = await runPlan(client, topic, steps);
      // Each record where the plan puts it: markers took the offsets between.
      expect(delivered).toEqual(dataRecords(log, false).filter(([, , v]) => !v.startsWith('plain')));
    } finally {
      await client.close();
    }
    const committed = dataRecords(log, true);
    const all = dataRecords(log, false);
    expect(committed.map(([, , v]) => v).sort()).toEqual(['plain-0', 't1-0', 't1-1', 't1-2', 't1-3', 't1-4', 't1-5', 't3-0', 't3-1', 't3-2']);
    expect(await readWithKcat(weir().bootstrap, topic, 'read_committed')).toEqual(committed);
    expect(await readWithCkjs(weir().bootstrap, topic, 2, 'read_committed')).toEqual(committed);
    expect(await readWithKcat(weir().bootstrap, topic, 'read_uncommitted')).toEqual(all);
    expect(await readWithCkjs(weir().bootstrap, topic, 2, 'read_uncommitted')).toEqual(all);
    expect(await readWithKafkaPython(weir().bootstrap, topic, 2)).toEqual(asPython(log));
    // No open transaction: the last stable offset is the high watermark.
    const ends = log.map((slots) => slots.length);
    expect(await latestOffsets(weir().bootstrap, topic, 2, 'read_committed')).toEqual(ends);
    expect(await latestOffsets(weir().bootstrap, topic, 2, 'read_uncommitted')).toEqual(ends);
  });

  it('a read_committed consumer waits at an open transaction and continues after its commit, and after an abort without its records', async () => {
    const topic = `open-${label}`;
    await weir().admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const client = await startClient(weir().bootstrap, `open-${label}`);
    const reader = await CkjsReader.open(weir().bootstrap, topic, 1, 'read_committed');
    const lso = () => latestOffsets(weir().bootstrap, topic, 1, 'read_committed');
    const hw = () => latestOffsets(weir().bootstrap, topic, 1, 'read_uncommitted');
    try {
      await client.init();
      await client.begin();
      await client.send(topic, [[0, 'a'], [0, 'b']]);
      await client.commit(); // a 0, b 1, COMMIT 2
      await client.begin();
      expect(await client.send(topic, [[0, 'c'], [0, 'd']])).toEqual([[0, 3, 'c'], [0, 4, 'd']]);
      await weir().producePlain(topic, 0, ['e']); // 5, behind the open transaction
      expect(await lso()).toEqual([3]);
      expect(await hw()).toEqual([6]);
      expect(await reader.readTo([3])).toEqual([[0, 0, 'a'], [0, 1, 'b']]);
      expect(reader.ends).toEqual([3]);
      expect(await readWithKcat(weir().bootstrap, topic, 'read_committed')).toEqual([[0, 0, 'a'], [0, 1, 'b']]);
      expect(await readWithKcat(weir().bootstrap, topic, 'read_uncommitted')).toEqual([[0, 0, 'a'], [0, 1, 'b'], [0, 3, 'c'], [0, 4, 'd'], [0, 5, 'e']]);
      // It stays there while the transaction is open.
      expect(await reader.readTo([4], 1_000)).toEqual([]);
      expect(reader.ends).toEqual([3]);

      await client.commit(); // COMMIT 6
      expect(await reader.readTo([7])).toEqual([[0, 3, 'c'], [0, 4, 'd'], [0, 5, 'e']]);
      expect(reader.ends).toEqual([7]);
      expect(await lso()).toEqual([7]);

      await client.begin();
      expect(await client.send(topic, [[0, 'f'], [0, 'g']])).toEqual([[0, 7, 'f'], [0, 8, 'g']]);
      await weir().producePlain(topic, 0, ['h']); // 9
      expect(await lso()).toEqual([7]);
      expect(await reader.readTo([8], 1_000)).toEqual([]);
      expect(reader.ends).toEqual([7]);
      await client.abort(); // ABORT 10
      expect(await reader.readTo([11])).toEqual([[0, 9, 'h']]);
      expect(reader.ends).toEqual([11]);
      expect(await lso()).toEqual([11]);
      expect(await hw()).toEqual([11]);
    } finally {
      await reader.close();
      await client.close();
    }
  });
});
