/**
 * Consume-transform-produce (KIP-98) against `weir start`, by each transactional client
 * (txn-clients.ts): a read_committed consumer in a group reads an input topic of two partitions,
 * the producer writes each value transformed to an output topic, sends the consumer's positions
 * to the transaction, and commits, or in one round aborts and rewinds to the group's committed
 * offsets. The group's committed offsets (OffsetFetch, by kafkajs) must not move while a round's
 * offsets are pending, move to the consumer's positions on commit, and stay put on abort; in the
 * end read_committed readers see every input value transformed exactly once, while
 * read_uncommitted readers see the aborted round's outputs too.
 */
import { describe, expect, it } from 'vitest';
import { readWithCkjs, readWithKcat } from './readers.js';
import { TXN_CLIENTS, type Placed, type TxnClient } from './txn-clients.js';
import { useWeir } from './weir-fixture.js';

const PARTITIONS = 2;
const PER_PARTITION = 15;
const PER_ROUND = 10;
/** The rounds' ends, until the input is used up: the second round is aborted and done again. */
const ENDS = ['commit', 'abort', 'commit', 'commit'] as const;

const weir = useWeir('txn-ctp');

async function seedInput(topic: string): Promise<string[]> {
  const all: string[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const values = Array.from({ length: PER_PARTITION }, (_, i) => `in-${p}-${i}`);
    await weir().producePlain(topic, p, values);
    all.push(...values);
  }
  return all;
}

/** The group's committed offset of each input partition, -1 where it has none. */
async function groupOffsets(group: string, topic: string): Promise<number[]> {
  const [entry] = await weir().admin.fetchOffsets({ groupId: group, topics: [topic] });
  const byPartition = new Map(entry!.partitions.map((p) => [p.partition, Number(p.offset)]));
  return Array.from({ length: PARTITIONS }, (_, p) => byPartition.get(p) ?? -1);
}

/** Polls until `n` records have arrived (the first poll also waits for the group's assignment). */
async function pollRecords(client: TxnClient, n: number): Promise<Placed[]> {
  const got: Placed[] = [];
  const deadline = Date.now() + 20_000;
  while (got.length < n) {
    if (Date.now() > deadline) throw new Error(`${client.name}: ${got.length} of ${n} input records in 20 s`);
    got.push(...(await client.poll(n - got.length, 500)));
  }
  return got;
}

describe.each(TXN_CLIENTS)('consume-transform-produce by %s', (label, startClient) => {
  it('the group\'s offsets move with committed rounds only; read_committed sees each input transformed once', async () => {
    const input = `ctp-in-${label}`;
    const output = `ctp-out-${label}`;
    const group = `ctp-${label}`;
    await weir().admin.createTopics({ topics: [{ topic: input, numPartitions: PARTITIONS }, { topic: output, numPartitions: PARTITIONS }] });
    const inputs = await seedInput(input);
    const client = await startClient(weir().bootstrap, `ctp-${label}`);
    const aborted: string[] = [];
    let committed = Array.from({ length: PARTITIONS }, () => -1);
    try {
      await client.init();
      await client.subscribe(group, input);
      for (const end of ENDS) {
        const records = await pollRecords(client, PER_ROUND);
        await client.begin();
        await client.send(output, records.map(([p, , v]): [number, string] => [p, `out-${v}`]));
        const sent = new Map(await client.sendOffsets());
        // The consumer's position is just past the last record it got of each partition.
        for (let p = 0; p < PARTITIONS; p++) {
          const mine = records.filter(([rp]) => rp === p).map(([, o]) => o + 1);
          if (mine.length > 0) expect(sent.get(p), `position of partition ${p}`).toBe(Math.max(...mine));
        }
        // Pending in the transaction: the group does not see them yet.
        expect(await groupOffsets(group, input)).toEqual(committed);
        const positions = committed.map((c, p) => sent.get(p) ?? c);
        if (end === 'commit') {
          await client.commit();
          committed = positions;
        } else {
          await client.abort();
          aborted.push(...records.map(([, , v]) => `out-${v}`));
          await client.rewind();
        }
        expect(await groupOffsets(group, input), `after a round's ${end}`).toEqual(committed);
      }
    } finally {
      await client.close();
    }
    expect(committed).toEqual(Array.from({ length: PARTITIONS }, () => PER_PARTITION));
    expect(aborted).toHaveLength(PER_ROUND);
    const values = (rs: Placed[]) => rs.map(([, , v]) => v).sort();
    const once = inputs.map((v) => `out-${v}`).sort();
    expect(values(await readWithKcat(weir().bootstrap, output, 'read_committed'))).toEqual(once);
    expect(values(await readWithCkjs(weir().bootstrap, output, PARTITIONS, 'read_committed'))).toEqual(once);
    expect(values(await readWithKcat(weir().bootstrap, output, 'read_uncommitted'))).toEqual([...once, ...aborted].sort());
  });
});
