/**
 * `weir consume`: kafka-console-consumer on Weir's Kafka listener.
 *
 * kafkajs has no group-less assign() consumer, so without --group this joins a throwaway group
 * (`weir-console-consumer-<random>`) that never commits, as kafka-console-consumer does; the
 * join waits the coordinator's initial rebalance delay (3 s, Kafka's
 * group.initial.rebalance.delay.ms) once. --partition consumes one partition: the others are
 * paused. Records are resolved one by one, so with --group and --max-messages exactly the
 * records printed are committed.
 */
import { randomBytes } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { WeirError } from '../../errors.js';
import { CLIENT_OPTIONS, kafkaClient, kafkaError } from '../kafka-client.js';
import { intValue, stringValue, type CommandSpec, type OptionValues } from '../spec.js';
import { ConsoleSession, type PrintOptions } from './consume-session.js';
import { TOPIC_OPTION } from './topics-common.js';
import { topicName } from './topics-validate.js';

function startOffset(values: OptionValues): 'earliest' | 'latest' | bigint | undefined {
  const raw = stringValue(values, 'offset');
  if (raw === undefined) return undefined;
  if (raw === 'earliest' || raw === 'latest') return raw;
  if (!/^\d+$/.test(raw)) throw new WeirError('USAGE', `--offset ${raw} is invalid: expected a whole number, earliest or latest`, { details: { command: 'weir consume' } });
  return BigInt(raw);
}

export const consume: CommandSpec = {
  path: ['consume'],
  summary: 'Print a topic\'s records over the Kafka protocol',
  description: [
    'Like kafka-console-consumer: prints each record of --topic read from the running Weir at --bootstrap-server, the value alone on a line unless --print-* asks for more fields (in this order, tab-separated: CreateTime:ms, Partition:p, Offset:o, headers as k:v,k:v or NO_HEADERS, key, value; a missing key or value prints as null).',
    'Without --group, reading starts at the end (new records only) unless --from-beginning, and nothing is committed. With --group, reading resumes from the group\'s committed offsets (or --from-beginning / the end when it has none) and what is printed is committed.',
    'Runs until Ctrl-C, --max-messages records, or --timeout-ms without a record; then prints "Processed a total of N messages" on stderr.',
  ],
  options: [
    { ...CLIENT_OPTIONS[0]! },
    { ...TOPIC_OPTION, doc: `Topic to read: ${TOPIC_OPTION.doc}` },
    { name: 'from-beginning', type: 'boolean', doc: 'Start at the log start when there is no committed offset.' },
    { name: 'group', type: 'string', placeholder: 'GROUP', doc: 'Consumer group to join; its committed offsets are used and advanced.' },
    { name: 'partition', type: 'string', placeholder: 'P', doc: 'Read only this partition.' },
    { name: 'offset', type: 'string', placeholder: 'O', doc: 'With --partition: start at this offset (a number, earliest or latest).' },
    { name: 'max-messages', type: 'string', placeholder: 'N', doc: 'Exit after printing N records.' },
    { name: 'timeout-ms', type: 'string', placeholder: 'MS', doc: 'Exit when no record arrives for MS milliseconds (counted from when the consumer has joined).' },
    { name: 'print-key', type: 'boolean', doc: 'Print the key before the value.' },
    { name: 'print-headers', type: 'boolean', doc: 'Print the headers (k:v,k:v or NO_HEADERS).' },
    { name: 'print-offset', type: 'boolean', doc: 'Print Offset:o.' },
    { name: 'print-partition', type: 'boolean', doc: 'Print Partition:p.' },
    { name: 'print-timestamp', type: 'boolean', doc: 'Print CreateTime:ms.' },
    CLIENT_OPTIONS[1]!,
  ],
  examples: [
    'weir consume --bootstrap-server 127.0.0.1:9092 --topic temps --from-beginning --print-key',
    'weir consume --bootstrap-server 127.0.0.1:9092 --topic temps --group dashboard --max-messages 10',
    'weir consume --bootstrap-server 127.0.0.1:9092 --topic temps --partition 2 --offset 1500 --print-offset --print-headers',
  ],
  async run(values, ctx) {
    const args = consumeArgs(values);
    const kafka = await kafkaClient(values, ctx, 'weir-consume');
    const partitions = await topicPartitions(kafka, args, values);
    const groupId = args.group ?? `weir-console-consumer-${randomBytes(4).toString('hex')}`;
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500, sessionTimeout: 10_000, heartbeatInterval: 1_000, allowAutoTopicCreation: false });
    const session = new ConsoleSession(args, ctx.stdout);
    consumer.on(consumer.events.GROUP_JOIN, () => session.armTimer());
    consumer.on(consumer.events.CRASH, (e) => session.finish(kafkaError(e.payload.error, values, `consuming ${args.topic}`)));
    try {
      await startConsumer(kafka, consumer, args, partitions, session).catch((err: unknown) => session.finish(kafkaError(err, values, `consuming ${args.topic}`)));
      await session.finished;
      await commitPrinted(consumer, args, session.printed, values);
    } finally {
      session.dispose();
      await consumer.disconnect().catch(() => undefined);
      ctx.stderr.write(`Processed a total of ${session.count} messages\n`);
    }
    return 0;
  },
};

interface ConsumeArgs {
  topic: string;
  group: string | undefined;
  partition: number | undefined;
  offset: ReturnType<typeof startOffset>;
  fromBeginning: boolean;
  maxMessages: number | undefined;
  timeoutMs: number | undefined;
  print: PrintOptions;
}

function consumeArgs(values: OptionValues): ConsumeArgs {
  const spec = consume;
  const topic = topicName(values, spec);
  const group = stringValue(values, 'group');
  const partition = intValue(values, 'partition', 0, 9_999, spec);
  const offset = startOffset(values);
  const fromBeginning = values['from-beginning'] === true;
  if (offset !== undefined && partition === undefined) throw new WeirError('USAGE', '--offset needs --partition', { details: { command: 'weir consume' } });
  if (offset !== undefined && fromBeginning) throw new WeirError('USAGE', 'give --offset or --from-beginning, not both', { details: { command: 'weir consume' } });
  return {
    topic,
    group,
    partition,
    offset,
    fromBeginning,
    maxMessages: intValue(values, 'max-messages', 1, Number.MAX_SAFE_INTEGER, spec),
    timeoutMs: intValue(values, 'timeout-ms', 1, 86_400_000, spec),
    print: {
      timestamp: values['print-timestamp'] === true,
      partition: values['print-partition'] === true,
      offset: values['print-offset'] === true,
      headers: values['print-headers'] === true,
      key: values['print-key'] === true,
    },
  };
}

/** The topic's partition ids, ascending; --partition must be one of them. */
async function topicPartitions(kafka: Kafka, args: ConsumeArgs, values: OptionValues): Promise<number[]> {
  const admin = kafka.admin();
  let partitions: number[];
  try {
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [args.topic] });
    partitions = meta.topics[0]!.partitions.map((p) => p.partitionId).sort((a, b) => a - b);
  } catch (err) {
    throw kafkaError(err, values, `reading the metadata of topic ${args.topic}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  if (args.partition !== undefined && !partitions.includes(args.partition)) {
    throw new WeirError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${args.topic} has no partition ${args.partition} (it has ${partitions.length})`);
  }
  return partitions;
}

/**
 * kafkajs has no group-less assign(): with --partition, the consumer subscribes to the topic,
 * pauses the other partitions and seeks to --offset.
 */
async function startConsumer(kafka: Kafka, consumer: Consumer, args: ConsumeArgs, partitions: number[], session: ConsoleSession): Promise<void> {
  const { topic, partition, offset } = args;
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: args.fromBeginning || offset === 'earliest' });
  await consumer.run({ autoCommit: args.group !== undefined, eachBatchAutoResolve: false, eachBatch: session.eachBatch });
  if (partition === undefined) return;
  const others = partitions.filter((p) => p !== partition);
  if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
  if (typeof offset === 'bigint') consumer.seek({ topic, partition, offset: offset.toString() });
  else if (offset === 'latest' || offset === 'earliest') {
    const ends = await kafkaOffsets(kafka, topic);
    const end = ends.find((e) => e.partition === partition)!;
    consumer.seek({ topic, partition, offset: offset === 'latest' ? end.high : end.low });
  }
}

/** With --group, commits one past the last record printed on each partition. */
async function commitPrinted(consumer: Consumer, args: ConsumeArgs, printed: ReadonlyMap<number, bigint>, values: OptionValues): Promise<void> {
  if (args.group === undefined || printed.size === 0) return;
  try {
    await consumer.commitOffsets([...printed].map(([p, o]) => ({ topic: args.topic, partition: p, offset: o.toString() })));
  } catch (err) {
    throw kafkaError(err, values, `committing the offsets of group ${args.group}`);
  }
}

async function kafkaOffsets(kafka: Kafka, topic: string): Promise<{ partition: number; high: string; low: string }[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
