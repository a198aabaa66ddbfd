/**
 * Two transactional clients behind one interface, so each transaction test runs against both:
 * librdkafka 2.15 through @confluentinc/kafka-javascript (in this process), and librdkafka 2.0.2
 * through Debian's python3-confluent-kafka 1.7.0 (txn-client.py, a child process driven one
 * command at a time). Each is a transactional producer (transactional.id, init, begin, send,
 * commit, abort) with a read_committed consumer in a group beside it for
 * consume-transform-produce (subscribe, poll, send its positions to the transaction, rewind to
 * the group's committed offsets). A failed call rejects with TxnFailed, carrying librdkafka's
 * error name (without the ERR prefix: `_FENCED`, `PRODUCER_FENCED`) and its classification.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connected, disconnected, loadCkjs, type Ckjs, type CkjsModule } from '../server/ckjs.js';
import { requireTool } from '../../helpers/required-tools.js';

export const PYTHON = '/usr/bin/python3';
const PYTHON_CLIENT = join(import.meta.dirname, 'txn-client.py');
/** Every call's own bound: a broker restart or a coordinator's retry fits in it many times. */
const CALL_TIMEOUT_MS = 30_000;

export interface TxnErrorInfo {
  code: number | null;
  name: string;
  message: string;
  fatal: boolean;
  retriable: boolean;
  /** librdkafka's txn_requires_abort: the transaction can only be aborted now. */
  abortable: boolean;
}

/** The Python client's process is gone; `sent`: the command had been written to it before. */
export class ClientGone extends Error {
  constructor(message: string, readonly sent: boolean) {
    super(message);
  }
}

export class TxnFailed extends Error {
  constructor(readonly info: TxnErrorInfo, op: string) {
    super(`${op}: ${info.name} (${info.code}) ${info.message}${info.fatal ? ' [fatal]' : ''}${info.abortable ? ' [abortable]' : ''}`);
  }
}

/** A record as delivered or consumed: partition, offset, value. */
export type Placed = [partition: number, offset: number, value: string];

export interface TxnClient {
  readonly name: string;
  init(): Promise<void>;
  begin(): Promise<void>;
  /** Produces `records` ([partition, value]) and waits for every delivery report. */
  send(topic: string, records: [number, string][]): Promise<Placed[]>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  /** A read_committed consumer of `topic` in `group`, beside the producer. */
  subscribe(group: string, topic: string): Promise<void>;
  poll(count: number, timeoutMs: number): Promise<Placed[]>;
  /**
   * The consumer's positions, committed with the transaction (sendOffsetsToTransaction):
   * resolves with them, [partition, offset], leaving out partitions not read yet.
   */
  sendOffsets(): Promise<[number, number][]>;
  /** The consumer back to its group's committed offsets, as after an aborted round. */
  rewind(): Promise<void>;
  close(): Promise<void>;
}

export type TxnClientFactory = (bootstrap: string, transactionalId: string, transactionTimeoutMs?: number) => Promise<TxnClient>;

const call = (op: string, fn: (cb: (err: Ckjs.LibrdKafkaError | null | undefined) => void) => void, names: Map<number, string>): Promise<void> =>
  new Promise((resolve, reject) => fn((err) => (err ? reject(new TxnFailed(infoOf(err, names), op)) : resolve())));

function infoOf(err: Ckjs.LibrdKafkaError, names: Map<number, string>): TxnErrorInfo {
  return {
    code: err.code,
    name: names.get(err.code) ?? String(err.code),
    message: err.message,
    fatal: err.isFatal === true,
    retriable: err.isRetriable === true,
    abortable: err.isTxnRequiresAbort === true,
  };
}

/** librdkafka's error names by code, as Python's KafkaError.name() gives them (`ERR__FENCED` → `_FENCED`). */
function errorNames(ckjs: CkjsModule): Map<number, string> {
  return new Map(Object.entries(ckjs.CODES.ERRORS).map(([name, code]) => [code, name.replace(/^ERR_/, '')]));
}

class CkjsTxnClient implements TxnClient {
  readonly name: string;
  private consumer: Ckjs.KafkaConsumer | undefined;
  private readonly names: Map<number, string>;
  private reports = new Map<number, (err: Ckjs.LibrdKafkaError | null, r: Ckjs.DeliveryReport) => void>();
  private nextOpaque = 0;

  constructor(private readonly ckjs: CkjsModule, readonly producer: Ckjs.Producer, private readonly bootstrap: string) {
    this.name = `librdkafka ${ckjs.librdkafkaVersion} (kafka-javascript)`;
    this.names = errorNames(ckjs);
    producer.on('delivery-report', (err, r) => this.reports.get(r.opaque as number)?.(err, r));
  }

  init = () => call('init', (cb) => this.producer.initTransactions(CALL_TIMEOUT_MS, cb), this.names);
  begin = () => call('begin', (cb) => this.producer.beginTransaction(cb), this.names);
  commit = () => call('commit', (cb) => this.producer.commitTransaction(CALL_TIMEOUT_MS, cb), this.names);
  abort = () => call('abort', (cb) => this.producer.abortTransaction(CALL_TIMEOUT_MS, cb), this.names);

  send(topic: string, records: [number, string][]): Promise<Placed[]> {
    return new Promise((resolve, reject) => {
      const placed: Placed[] = [];
      const mine: number[] = [];
      let pending = records.length;
      const finish = (err?: Error) => {
        clearTimeout(timer);
        for (const o of mine) this.reports.delete(o);
        if (err) reject(err);
        else resolve(placed.sort((a, b) => a[0] - b[0] || a[1] - b[1]));
      };
      const timer = setTimeout(() => finish(new Error(`send: ${pending} of ${records.length} deliveries outstanding after ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS);
      const onReport = (value: string) => (err: Ckjs.LibrdKafkaError | null, r: Ckjs.DeliveryReport) => {
        if (err) return finish(new TxnFailed(infoOf(err, this.names), 'send'));
        placed.push([r.partition, r.offset, value]);
        if (--pending === 0) finish();
      };
      try {
        for (const [partition, value] of records) {
          const opaque = this.nextOpaque++;
          mine.push(opaque);
          this.reports.set(opaque, onReport(value));
          this.producer.produce(topic, partition, Buffer.from(value), null, null, opaque);
        }
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  async subscribe(group: string, topic: string): Promise<void> {
    this.consumer = new this.ckjs.KafkaConsumer(
      { 'bootstrap.servers': this.bootstrap, 'group.id': group, 'enable.auto.commit': false, 'isolation.level': 'read_committed', 'fetch.wait.max.ms': 100, 'session.timeout.ms': 6000 },
      { 'auto.offset.reset': 'earliest' },
    );
    await connected(this.consumer);
    this.consumer.subscribe([topic]);
  }

  async poll(count: number, timeoutMs: number): Promise<Placed[]> {
    const consumer = this.consumer!;
    consumer.setDefaultConsumeTimeout(timeoutMs);
    const messages = await new Promise<Ckjs.Message[]>((resolve, reject) => consumer.consume(count, (err, m) => (err ? reject(new TxnFailed(infoOf(err, this.names), 'poll')) : resolve(m))));
    return messages.map((m) => [m.partition, m.offset, m.value?.toString() ?? '']);
  }

  async sendOffsets(): Promise<[number, number][]> {
    const consumer = this.consumer!;
    // A partition not read yet has no position (offset undefined), which the binding would send as 0.
    const positions = consumer.position(consumer.assignments()).filter((tp) => typeof tp.offset === 'number' && tp.offset >= 0);
    await call('send_offsets', (cb) => this.producer.sendOffsetsToTransaction(positions, consumer, CALL_TIMEOUT_MS, cb), this.names);
    return positions.map((tp): [number, number] => [tp.partition, tp.offset]);
  }

  async rewind(): Promise<void> {
    const consumer = this.consumer!;
    const committed = await new Promise<Ckjs.TopicPartitionOffset[]>((resolve, reject) =>
      consumer.committed(consumer.assignments(), CALL_TIMEOUT_MS, (err, tps) => (err ? reject(new TxnFailed(infoOf(err, this.names), 'rewind')) : resolve(tps))));
    for (const tp of committed) {
      await call('rewind', (cb) => consumer.seek({ topic: tp.topic, partition: tp.partition, offset: tp.offset >= 0 ? tp.offset : 0 }, CALL_TIMEOUT_MS, cb), this.names);
    }
  }

  async close(): Promise<void> {
    if (this.consumer) await disconnected(this.consumer);
    await disconnected(this.producer);
  }
}

export const startCkjsTxnClient: TxnClientFactory = async (bootstrap, transactionalId, transactionTimeoutMs = 60_000) => {
  const ckjs = loadCkjs();
  const producer = new ckjs.Producer({
    'bootstrap.servers': bootstrap,
    'transactional.id': transactionalId,
    'transaction.timeout.ms': transactionTimeoutMs,
    dr_cb: true,
    'linger.ms': 5,
    'reconnect.backoff.ms': 20,
    'reconnect.backoff.max.ms': 200,
  });
  producer.setPollInterval(5);
  await connected(producer);
  return new CkjsTxnClient(ckjs, producer, bootstrap);
};

/** The Python client: a child process answering one JSON line per command (txn-client.py). */
export class PythonTxnClient implements TxnClient {
  readonly name = 'librdkafka 2.0.2 (python3-confluent-kafka 1.7.0)';
  private readonly answers: string[] = [];
  private waiter: (() => void) | undefined;
  private stderr = '';
  private exited = false;

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.answers.push(line);
      this.waiter?.();
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-4000)));
    child.on('exit', () => {
      this.exited = true;
      this.waiter?.();
    });
  }

  private async request(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.exited) throw new ClientGone(`${this.name} has exited before ${String(cmd['op'])}${this.lastWords()}`, false);
    this.child.stdin!.write(JSON.stringify(cmd) + '\n');
    const deadline = Date.now() + CALL_TIMEOUT_MS + 10_000;
    while (this.answers.length === 0) {
      if (this.exited) throw new ClientGone(`${this.name} exited during ${String(cmd['op'])}${this.lastWords()}`, true);
      if (Date.now() > deadline) throw new Error(`${this.name}: no answer to ${String(cmd['op'])}`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 1000);
      });
    }
    const answer = JSON.parse(this.answers.shift()!) as { ok: boolean; error?: TxnErrorInfo } & Record<string, unknown>;
    if (!answer.ok) throw new TxnFailed(answer.error!, String(cmd['op']));
    return answer;
  }

  /** The last line the process wrote on stderr (librdkafka's log, or a traceback's end). */
  private lastWords(): string {
    const last = this.stderr.trim().split('\n').at(-1);
    return last ? `: ${last}` : '';
  }

  init = async () => void (await this.request({ op: 'init' }));
  begin = async () => void (await this.request({ op: 'begin' }));
  commit = async () => void (await this.request({ op: 'commit' }));
  abort = async () => void (await this.request({ op: 'abort' }));
  rewind = async () => void (await this.request({ op: 'rewind' }));
  subscribe = async (group: string, topic: string) => void (await this.request({ op: 'subscribe', group, topic }));

  async send(topic: string, records: [number, string][]): Promise<Placed[]> {
    const { delivered } = await this.request({ op: 'send', topic, records });
    return (delivered as Placed[]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  }

  async sendOffsets(): Promise<[number, number][]> {
    return (await this.request({ op: 'send_offsets' }))['offsets'] as [number, number][];
  }

  async poll(count: number, timeoutMs: number): Promise<Placed[]> {
    return (await this.request({ op: 'poll', count, timeout_ms: timeoutMs }))['records'] as Placed[];
  }

  async close(): Promise<void> {
    if (!this.exited) await this.request({ op: 'close' }).catch(() => undefined);
    this.kill();
  }

  /** SIGKILL: the process dies with its transaction open, as a crashed application would. */
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

export const startPythonTxnClient = async (bootstrap: string, transactionalId: string, transactionTimeoutMs = 60_000): Promise<PythonTxnClient> => {
  requireTool('python3-confluent-kafka', [PYTHON, ['-c', 'import confluent_kafka']], 'apt-get install -y python3-confluent-kafka');
  return new PythonTxnClient(spawn(PYTHON, [PYTHON_CLIENT, bootstrap, transactionalId, String(transactionTimeoutMs)], { stdio: ['pipe', 'pipe', 'pipe'] }));
};

export const TXN_CLIENTS: [string, TxnClientFactory][] = [
  ['kafka-javascript', startCkjsTxnClient],
  ['python', startPythonTxnClient],
];
