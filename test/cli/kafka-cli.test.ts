/**
 * `weir produce`, `weir consume`, `weir groups` and `weir topics --bootstrap-server` against a
 * real `weir start` (built dist, Kafka listener on 127.0.0.1:0), each command a child process as
 * an operator runs it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../src/kafka/protocol/murmur2.js';
import { weirForFile } from './weir-fixture.js';

const fixture = weirForFile('weir-kafka-cli-');
const { cli } = fixture;
let bs: string;
beforeAll(() => {
  bs = fixture.weir.kafka;
});

describe.concurrent('weir produce and consume', () => {
  it('keyed lines with headers come back with keys, headers, partitions and offsets; keys land where murmur2 puts them', async () => {
    expect((await cli(['topics', 'create', '--bootstrap-server', bs, '--topic', 'keyed', '--partitions', '3'])).code).toBe(0);
    const keys = ['sensor-1', 'sensor-2', 'sensor-3', 'sensor-4', 'sensor-5', 'sensor-6'];
    const input = keys.map((k, i) => `site:a,n:${i}\t${k}:value ${i}`).join('\n') + '\n';
    const p = await cli(['produce', '--bootstrap-server', bs, '--topic', 'keyed', '--key-separator', ':', '--property', 'parse.headers=true'], input);
    expect(p.stderr).toBe('');
    expect(p.code).toBe(0);
    const c = await cli([
      'consume', '--bootstrap-server', bs, '--topic', 'keyed', '--from-beginning', '--max-messages', String(keys.length),
      '--print-key', '--print-headers', '--print-offset', '--print-partition', '--timeout-ms', '10000',
    ]);
    expect(c.code).toBe(0);
    expect(c.stderr).toContain(`Processed a total of ${keys.length} messages`);
    const lines = c.stdout.trim().split('\n');
    expect(lines).toHaveLength(keys.length);
    const nextOffset = new Map<number, number>();
    const seen = new Map<number, string[]>();
    keys.forEach((k, i) => {
      const partition = partitionForKey(Buffer.from(k), 3);
      const offset = nextOffset.get(partition) ?? 0;
      nextOffset.set(partition, offset + 1);
      seen.set(partition, [...(seen.get(partition) ?? []), `Partition:${partition}\tOffset:${offset}\tsite:a,n:${i}\t${k}\tvalue ${i}`]);
    });
    // Order holds within a partition; partitions interleave as fetched.
    for (const [partition, expected] of seen) expect(lines.filter((l) => l.startsWith(`Partition:${partition}\t`))).toEqual(expected);
  });

  it('plain lines: value per line, null keys, NO_HEADERS; --partition/--offset starts there', async () => {
    const input = Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n');
    const p = await cli(['produce', '--bootstrap-server', bs, '--topic', 'plain', '--compression', 'gzip', '--batch-size', '7'], input);
    expect(p.code).toBe(0);
    const all = await cli(['consume', '--bootstrap-server', bs, '--topic', 'plain', '--from-beginning', '--max-messages', '50']);
    expect(all.stdout).toBe(Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join(''));
    const some = await cli(['consume', '--bootstrap-server', bs, '--topic', 'plain', '--partition', '0', '--offset', '45', '--max-messages', '5', '--print-key', '--print-headers', '--print-offset']);
    expect(some.code).toBe(0);
    expect(some.stdout).toBe([45, 46, 47, 48, 49].map((i) => `Offset:${i}\tNO_HEADERS\tnull\tline ${i}\n`).join(''));
  });

  it.each(['snappy', 'lz4'])('--compression %s round-trips', async (codec) => {
    const topic = `codec-${codec}`;
    const input = Array.from({ length: 200 }, (_, i) => `${codec} record ${i} ${'x'.repeat(i % 50)}`);
    const p = await cli(['produce', '--bootstrap-server', bs, '--topic', topic, '--compression', codec], input.join('\n'));
    expect(p.code, p.stderr).toBe(0);
    const c = await cli(['consume', '--bootstrap-server', bs, '--topic', topic, '--from-beginning', '--max-messages', '200']);
    expect(c.stdout.split('\n').slice(0, -1)).toEqual(input);
  });

  it('--timeout-ms ends a consumer that gets nothing', async () => {
    expect((await cli(['topics', 'create', '--bootstrap-server', bs, '--topic', 'quiet'])).code).toBe(0);
    const c = await cli(['consume', '--bootstrap-server', bs, '--topic', 'quiet', '--timeout-ms', '500']);
    expect(c.code).toBe(0);
    expect(c.stdout).toBe('');
    expect(c.stderr).toContain('Processed a total of 0 messages');
  });
});

describe.concurrent('weir groups', () => {
  it('describe shows committed offset, log end and lag per partition; list names the group', async () => {
    const input = Array.from({ length: 10 }, (_, i) => `m${i}`).join('\n');
    expect((await cli(['produce', '--bootstrap-server', bs, '--topic', 'lagged'], input)).code).toBe(0);
    const c = await cli(['consume', '--bootstrap-server', bs, '--topic', 'lagged', '--group', 'dash', '--from-beginning', '--max-messages', '4']);
    expect(c.stdout).toBe('m0\nm1\nm2\nm3\n');
    const d = await cli(['groups', 'describe', '--bootstrap-server', bs, '--group', 'dash']);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain("Consumer group 'dash' has no active members.");
    expect(d.stdout).toMatch(/GROUP +TOPIC +PARTITION +CURRENT-OFFSET +LOG-END-OFFSET +LAG +CONSUMER-ID +HOST +CLIENT-ID/);
    expect(d.stdout).toMatch(/\ndash +lagged +0 +4 +10 +6 +- +- +-\n/);
    // The group resumes where it committed.
    const more = await cli(['consume', '--bootstrap-server', bs, '--topic', 'lagged', '--group', 'dash', '--max-messages', '2']);
    expect(more.stdout).toBe('m4\nm5\n');
    expect((await cli(['groups', 'describe', '--bootstrap-server', bs, '--group', 'dash'])).stdout).toMatch(/\ndash +lagged +0 +6 +10 +4 /);
    expect((await cli(['groups', 'list', '--bootstrap-server', bs])).stdout.split('\n')).toContain('dash');
  });

  it('describe of an unknown group says so and exits 1', async () => {
    const d = await cli(['groups', 'describe', '--bootstrap-server', bs, '--group', 'nobody']);
    expect(d.code).toBe(1);
    expect(d.stdout).toContain("Consumer group 'nobody' does not exist.");
  });
});

describe.concurrent('weir topics --bootstrap-server while Weir runs', () => {
  it('create, list, describe, alter (partitions, set and remove configs, --config repeated as in kafka-topics.sh), delete', async () => {
    const t = (...args: string[]) => cli(['topics', ...args, '--bootstrap-server', bs]);
    const created = await t('create', '--topic', 'remote', '--partitions', '2', '--config', 'retention.ms=3600000', '--config', 'flush.ms=1000', '--replication-factor', '1');
    expect(created.stdout).toBe('Created topic remote with 2 partitions.\n');
    expect((await t('create', '--topic', 'remote')).code).toBe(1);
    expect((await t('create', '--topic', 'remote', '--if-not-exists')).code).toBe(0);
    expect((await t('list')).stdout.split('\n')).toContain('remote');
    const altered = await t('alter', '--topic', 'remote', '--partitions', '4', '--config', 'segment.ms=60000', '--config', 'max.message.bytes=2048', '--delete-config', 'retention.ms');
    expect(altered.stdout).toBe('Altered topic remote: partitions 2 -> 4; set segment.ms=60000; set max.message.bytes=2048; removed override retention.ms.\n');
    const d = await t('describe', '--topic', 'remote');
    expect(d.stdout).toContain('Topic: remote\tPartitionCount: 4\tReplicationFactor: 1');
    expect(d.stdout).toContain('\tPartition: 3\tLeader: 0\tLogStartOffset: 0\tHighWatermark: 0');
    expect(d.stdout).toContain('\tsegment.ms=60000\toverride');
    expect(d.stdout).toContain('\tmax.message.bytes=2048\toverride');
    expect(d.stdout).toContain('\tflush.ms=1000\toverride'); // set at create, kept by the alter
    expect(d.stdout).toContain('\tretention.ms=604800000\tdefault');
    expect((await t('delete', '--topic', 'remote')).stdout).toBe('Deleted topic remote.\n');
    expect((await t('list')).stdout.split('\n')).not.toContain('remote');
    expect((await t('delete', '--topic', 'remote', '--if-exists')).code).toBe(0);
  });

  it('without --bootstrap-server the locked data dir is refused, and the hint names --bootstrap-server', async () => {
    const r = await cli(['topics', 'list', '--data-dir', fixture.dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--bootstrap-server');
  });

  it('--replication-factor other than 1 is a usage error', async () => {
    const r = await cli(['topics', 'create', '--bootstrap-server', bs, '--topic', 'rf', '--replication-factor', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Weir is a single node');
  });
});

describe.concurrent('errors are reported, exit status non-zero', () => {
  it('an unreachable broker: exit 1, the address and what to check', async () => {
    const r = await cli(['produce', '--bootstrap-server', '127.0.0.1:1', '--topic', 't'], 'x\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^weir: connecting to 127\.0\.0\.1:1 failed: /);
    expect(r.stderr).toContain('Check that Weir is running');
  }, 30_000);

  it('--compression zstd says why and exits 2; a bad --acks exits 2', async () => {
    const z = await cli(['produce', '--bootstrap-server', bs, '--topic', 't', '--compression', 'zstd'], 'x\n');
    expect(z.code).toBe(2);
    expect(z.stderr).toContain('zstd');
    expect((await cli(['produce', '--bootstrap-server', bs, '--topic', 't', '--acks', '2'], 'x\n')).code).toBe(2);
  });

  it('a line without the key separator: exit 2 naming the line', async () => {
    const r = await cli(['produce', '--bootstrap-server', bs, '--topic', 'seps', '--key-separator', ':'], 'a:1\nno separator\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('stdin line 2');
  });

  it('a record over max.message.bytes: exit 1 with the broker error', async () => {
    expect((await cli(['topics', 'create', '--bootstrap-server', bs, '--topic', 'small', '--config', 'max.message.bytes=1024'])).code).toBe(0);
    const r = await cli(['produce', '--bootstrap-server', bs, '--topic', 'small'], `${'y'.repeat(4096)}\n`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MESSAGE_TOO_LARGE');
  });

  it('consume of a partition the topic does not have: exit 1', async () => {
    expect((await cli(['topics', 'create', '--bootstrap-server', bs, '--topic', 'onep'])).code).toBe(0);
    const r = await cli(['consume', '--bootstrap-server', bs, '--topic', 'onep', '--partition', '5', '--offset', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('has no partition 5');
  });
});
