/**
 * `weir produce`: kafka-console-producer on Weir's Kafka listener. Each stdin line is one
 * record; with parse.key the line is `key<separator>value`, with parse.headers (KIP-798, Kafka
 * 3.2's console producer) `h1:v1,h2:v2<TAB>…` comes first.
 *
 * stdin is read one chunk at a time and the chunk's lines are sent (in batches of at most
 * --batch-size records) before the next chunk is read, so memory stays bounded however much is
 * piped in, and a line typed at a terminal is sent when Enter is pressed.
 */
import type { CompressionTypes, Producer } from 'kafkajs';
import { WeirError, isWeirError } from '../../errors.js';
import { CLIENT_OPTIONS, kafkaClient, kafkaError, loadKafkajs } from '../kafka-client.js';
import { intValue, keyValues, stringValue, type CliContext, type CommandSpec, type OptionValues } from '../spec.js';
import { TOPIC_OPTION } from './topics-common.js';
import { topicName } from './topics-validate.js';

/** A line longer than this is refused rather than buffered without end (Weir's default max frame is 16 MiB). */
const MAX_LINE_BYTES = 16 * 1024 * 1024;

const COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

export interface LineFormat {
  parseKey: boolean;
  keySeparator: string;
  parseHeaders: boolean;
  headersDelimiter: string;
  headersSeparator: string;
  headersKeySeparator: string;
  ignoreError: boolean;
}

export interface ParsedLine {
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

const PROPERTY_NAMES = ['parse.key', 'key.separator', 'parse.headers', 'headers.delimiter', 'headers.separator', 'headers.key.separator', 'ignore.error'];

function lineFormat(values: OptionValues): LineFormat {
  const props = keyValues(values, 'property', produce);
  for (const k of Object.keys(props)) {
    if (!PROPERTY_NAMES.includes(k)) throw new WeirError('USAGE', `--property ${k}: unknown (known: ${PROPERTY_NAMES.join(', ')})`, { details: { command: 'weir produce' } });
  }
  const flag = (k: string) => props[k]?.toLowerCase() === 'true';
  const sep = stringValue(values, 'key-separator');
  return {
    // --key-separator alone means keys are wanted; as in Kafka, parse.key=true alone splits at a tab.
    parseKey: flag('parse.key') || sep !== undefined,
    keySeparator: sep ?? props['key.separator'] ?? '\t',
    parseHeaders: flag('parse.headers'),
    headersDelimiter: props['headers.delimiter'] ?? '\t',
    headersSeparator: props['headers.separator'] ?? ',',
    headersKeySeparator: props['headers.key.separator'] ?? ':',
    ignoreError: flag('ignore.error'),
  };
}

/** Splits one input line as kafka-console-producer's LineMessageReader does. */
export function parseLine(line: string, f: LineFormat, lineNo: number): ParsedLine {
  let rest = line;
  const headers: Record<string, string> = {};
  if (f.parseHeaders) {
    const at = rest.indexOf(f.headersDelimiter);
    if (at < 0) {
      if (!f.ignoreError) throw new WeirError('USAGE', `stdin line ${lineNo}: no headers delimiter ${JSON.stringify(f.headersDelimiter)} (parse.headers=true)`);
    } else {
      const part = rest.slice(0, at);
      rest = rest.slice(at + f.headersDelimiter.length);
      if (part !== '' && part !== 'NO_HEADERS') {
        for (const h of part.split(f.headersSeparator)) {
          const k = h.indexOf(f.headersKeySeparator);
          if (k < 0) headers[h] = '';
          else headers[h.slice(0, k)] = h.slice(k + f.headersKeySeparator.length);
        }
      }
    }
  }
  let key: string | null = null;
  if (f.parseKey) {
    const at = rest.indexOf(f.keySeparator);
    if (at < 0) {
      if (!f.ignoreError) throw new WeirError('USAGE', `stdin line ${lineNo}: no key separator ${JSON.stringify(f.keySeparator)} (give the key, the separator, then the value; or add --property ignore.error=true)`);
    } else {
      key = rest.slice(0, at);
      rest = rest.slice(at + f.keySeparator.length);
    }
  }
  return { key, value: rest, headers };
}

export const produce: CommandSpec = {
  path: ['produce'],
  summary: 'Send stdin lines as records to a topic over the Kafka protocol',
  description: [
    'Like kafka-console-producer: each line read from stdin becomes one record of --topic, sent to the running Weir at --bootstrap-server. Lines are sent in batches as they arrive; the command ends at end of input, once every record is acknowledged.',
    'With --key-separator (or --property parse.key=true, which splits at a tab) each line is KEY<separator>VALUE; records with a key go to the partition Kafka\'s default partitioner (murmur2) picks. With --property parse.headers=true a line starts with h1:v1,h2:v2 and a tab.',
    'With --acks -1 (the default) the producer is idempotent, as Kafka\'s is: a batch retried after a lost answer is not written twice.',
    'Exit status 1 if any record was not acknowledged; the error names the cause.',
  ],
  options: [
    { ...CLIENT_OPTIONS[0]! },
    { ...TOPIC_OPTION, doc: `Topic to write to (created with topic_defaults when kafka.auto_create_topics_enable is on): ${TOPIC_OPTION.doc}` },
    { name: 'key-separator', type: 'string', placeholder: 'SEP', doc: 'Each line is KEY SEP VALUE (implies --property parse.key=true).' },
    {
      name: 'property', type: 'string', multiple: true, placeholder: 'KEY=VALUE',
      doc: `Line reader settings as in kafka-console-producer: ${PROPERTY_NAMES.join(', ')}.`,
    },
    { name: 'acks', type: 'string', placeholder: '-1|0|1', doc: 'Acknowledgement wanted: -1 (all: durable on disk), 1 (leader, which on Weir is the same), 0 (none, fire and forget).', defaultDoc: '-1' },
    { name: 'compression', type: 'string', placeholder: 'CODEC', doc: 'Batch compression: none, gzip, snappy or lz4. (zstd is decode-only in Weir\'s pure-JS codecs: Node 20 has no zstd encoder.)', defaultDoc: 'none' },
    { name: 'batch-size', type: 'string', placeholder: 'N', doc: 'Most records per produce request.', defaultDoc: '1000' },
    CLIENT_OPTIONS[1]!,
  ],
  examples: [
    'weir produce --bootstrap-server 127.0.0.1:9092 --topic temps --key-separator :   (then type sensor-1:21.5 and Enter; Ctrl-D ends)',
    'weir produce --bootstrap-server 127.0.0.1:9092 --topic audit --property parse.headers=true --compression lz4 < lines.txt',
    'seq 1 1000 | weir produce --bootstrap-server 127.0.0.1:9092 --topic numbers',
  ],
  async run(values, ctx) {
    const topic = topicName(values, produce);
    const format = lineFormat(values);
    const acks = acksValue(values);
    const compression = await compressionValue(values);
    const batchSize = intValue(values, 'batch-size', 1, 100_000, produce) ?? 1000;
    const producer = await connectedProducer(values, ctx, acks);
    try {
      const sender = batchSender(producer, values, { topic, acks, compression, batchSize });
      await forEachStdinLine((line, lineNo) => sender.add(parseLine(line, format, lineNo)), sender.flush);
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
    return 0;
  },
};

function acksValue(values: OptionValues): number {
  const acksRaw = stringValue(values, 'acks') ?? '-1';
  if (!['-1', '0', '1', 'all'].includes(acksRaw)) throw new WeirError('USAGE', `--acks ${acksRaw} is invalid: expected -1, 0 or 1`, { details: { command: 'weir produce' } });
  return acksRaw === 'all' ? -1 : Number(acksRaw);
}

async function compressionValue(values: OptionValues): Promise<CompressionTypes> {
  const compressionName = (stringValue(values, 'compression') ?? 'none').toLowerCase();
  if (!(COMPRESSIONS as readonly string[]).includes(compressionName)) {
    throw new WeirError('USAGE', `--compression ${compressionName} is invalid: expected one of none, gzip, snappy, lz4`, { details: { command: 'weir produce' } });
  }
  if (compressionName === 'zstd') {
    throw new WeirError('USAGE', '--compression zstd is not available: Weir\'s codecs decode zstd but cannot write it (Node 20 has no zstd encoder); use lz4 or gzip', { details: { command: 'weir produce' } });
  }
  const { CompressionTypes } = await loadKafkajs();
  return { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4 }[compressionName as 'none']!;
}

async function connectedProducer(values: OptionValues, ctx: CliContext, acks: number): Promise<Producer> {
  const kafka = await kafkaClient(values, ctx, 'weir-produce');
  // Idempotence needs acks=all (KIP-98); kafkajs then keeps one request in flight per broker.
  const idempotent = acks === -1;
  const producer = kafka.producer({ idempotent, ...(idempotent ? { maxInFlightRequests: 1 } : {}), allowAutoTopicCreation: true });
  try {
    await producer.connect();
  } catch (err) {
    throw kafkaError(err, values, `connecting to ${stringValue(values, 'bootstrap-server')}`);
  }
  return producer;
}

interface SendSettings {
  topic: string;
  acks: number;
  compression: CompressionTypes;
  batchSize: number;
}

/** Gathers records and sends them in batches of at most batchSize; flush sends whatever is waiting. */
function batchSender(producer: Producer, values: OptionValues, s: SendSettings): { add(record: ParsedLine): Promise<void>; flush(): Promise<void> } {
  let sent = 0;
  let pending: ParsedLine[] = [];
  const flush = async (): Promise<void> => {
    while (pending.length > 0) {
      const batch = pending.slice(0, s.batchSize);
      pending = pending.slice(batch.length);
      try {
        await producer.send({
          topic: s.topic,
          acks: s.acks,
          compression: s.compression,
          messages: batch.map((m) => ({ key: m.key, value: m.value, ...(Object.keys(m.headers).length > 0 ? { headers: m.headers } : {}) })),
        });
      } catch (err) {
        throw produceError(err, values, s.topic, `${sent} records acknowledged before this batch of ${batch.length}`);
      }
      sent += batch.length;
    }
  };
  return {
    async add(record) {
      pending.push(record);
      if (pending.length >= s.batchSize) await flush();
    },
    flush,
  };
}

function produceError(err: unknown, values: OptionValues, topic: string, progress: string): Error {
  const e = kafkaError(err, values, `producing to ${topic} (${progress})`);
  if (isWeirError(e) && e.details?.kafkaError === 'UNKNOWN_TOPIC_OR_PARTITION') {
    // The broker has no such topic and does not create it (kafka.auto_create_topics_enable: false).
    const bs = stringValue(values, 'bootstrap-server')!;
    return new WeirError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${topic} does not exist on the broker at ${bs}, which does not create topics on first use (kafka.auto_create_topics_enable: false)`, {
      cause: err,
      details: { topic, hint: `Create it first: weir topics create --bootstrap-server ${bs} --topic ${topic} [--partitions N]` },
    });
  }
  return e;
}

/** Calls `each` for every stdin line (numbered from 1), and `endOfChunk` once a chunk's lines are done and at end of input. */
async function forEachStdinLine(each: (line: string, lineNo: number) => Promise<void>, endOfChunk: () => Promise<void>): Promise<void> {
  let lineNo = 0;
  let partial = '';
  const input = process.stdin;
  input.setEncoding('utf8');
  for await (const chunk of input as AsyncIterable<string>) {
    const text = partial + chunk;
    const lines = text.split('\n');
    partial = lines.pop()!;
    if (partial.length > MAX_LINE_BYTES) throw new WeirError('USAGE', `stdin line ${lineNo + 1} is longer than ${MAX_LINE_BYTES} bytes`);
    for (const raw of lines) {
      lineNo++;
      await each(raw.endsWith('\r') ? raw.slice(0, -1) : raw, lineNo);
    }
    await endOfChunk();
  }
  if (partial !== '') {
    lineNo++;
    await each(partial, lineNo);
  }
  await endOfChunk();
}
