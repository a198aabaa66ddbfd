/**
 * Idempotent producers (KIP-98) that keep sending across broker restarts, for the kill loop in
 * idempotent-restart.test.ts: librdkafka through @confluentinc/kafka-javascript,
 * librdkafka 2.0.2 through Debian's python3-confluent-kafka (a child process), and kafkajs. Each
 * sends the values `${prefix}-0`, `${prefix}-1`, ... (value n to partition n % partitions) with
 * acks=all, and records which were acknowledged; a fatal error stops it and is kept for the test
 * to report. kafka-python (Debian's python3-kafka 2.0.2) is not among them: it has no idempotent
 * mode (no `enable_idempotence`, no InitProducerId) before 2.1.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Kafka, logLevel } from 'kafkajs';
import { connected, disconnected, loadCkjs } from '../kafka/server/ckjs.js';

export const PYTHON = '/usr/bin/python3';
const PYTHON_PRODUCER = join(import.meta.dirname, 'idempotent-producer.py');
/** librdkafka's RD_KAFKA_RESP_ERR__FATAL. */
const ERR_FATAL = -150;
/** A kafkajs send that keeps failing this long, across restarts, is taken as fatal. */
const KAFKAJS_GIVE_UP_MS = 30_000;

export interface ProducerSpec {
  bootstrap: string;
  topic: string;
  partitions: number;
  prefix: string;
  /** Most values sent and not yet reported at any time. */
  window: number;
}

/** What a producer did: every value number acknowledged, failed deliveries, a fatal error. */
export class ProducerTally {
  readonly acked: number[] = [];
  failed = 0;
  sent = 0;
  fatal: string | null = null;
  constructor(readonly name: string, readonly prefix: string) {}
  outstanding(): number {
    return this.sent - this.acked.length - this.failed;
  }
}

export interface RunningProducer {
  readonly tally: ProducerTally;
  /** Stops sending, waits up to `timeoutMs` for every outstanding report, closes; again: the first stop's promise. */
  stop(timeoutMs: number): Promise<void>;
}

function once(stop: (timeoutMs: number) => Promise<void>): (timeoutMs: number) => Promise<void> {
  let stopped: Promise<void> | undefined;
  return (timeoutMs) => (stopped ??= stop(timeoutMs));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitOutstanding(tally: ProducerTally, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (tally.outstanding() > 0 && tally.fatal === null && Date.now() < deadline) await sleep(20);
}

export async function startLibrdkafkaProducer(spec: ProducerSpec): Promise<RunningProducer> {
  const ckjs = loadCkjs();
  const tally = new ProducerTally(`librdkafka ${ckjs.librdkafkaVersion} (kafka-javascript)`, spec.prefix);
  const producer = new ckjs.Producer(
    {
      'bootstrap.servers': spec.bootstrap,
      'enable.idempotence': true,
      dr_cb: true,
      'linger.ms': 10,
      // The broker is down for about a second per kill: nothing may time out meanwhile.
      'message.timeout.ms': 120_000,
      'reconnect.backoff.ms': 20,
      'reconnect.backoff.max.ms': 200,
    },
    { acks: -1 },
  );
  producer.setPollInterval(5);
  producer.on('delivery-report', (err, report) => {
    if (err) tally.failed++;
    else tally.acked.push(report.opaque as number);
  });
  producer.on('event.error', (err) => {
    if (err.isFatal === true || err.code === ERR_FATAL) tally.fatal ??= `${err.message} (code ${err.code})`;
  });
  await connected(producer);
  let stopping = false;
  const loop = (async () => {
    while (!stopping && tally.fatal === null) {
      while (tally.outstanding() < spec.window) {
        const n = tally.sent;
        try {
          producer.produce(spec.topic, n % spec.partitions, Buffer.from(`${spec.prefix}-${n}`), null, null, n);
        } catch {
          break; // the local queue is full: wait for reports
        }
        tally.sent++;
      }
      await sleep(5);
    }
  })();
  return {
    tally,
    stop: once(async (timeoutMs) => {
      stopping = true;
      await loop;
      await waitOutstanding(tally, timeoutMs);
      // After a fatal error librdkafka may not close promptly: the test reports, it does not hang.
      await Promise.race([disconnected(producer), sleep(5_000)]);
    }),
  };
}

export async function startPythonProducer(spec: ProducerSpec): Promise<RunningProducer> {
  const tally = new ProducerTally('librdkafka 2.0.2 (python3-confluent-kafka 1.7.0)', spec.prefix);
  const child = spawn(PYTHON, [PYTHON_PRODUCER, spec.bootstrap, spec.topic, String(spec.partitions), spec.prefix, String(spec.window)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  let done = false;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const [kind, a] = line.split(' ');
    if (kind === 'a') tally.acked.push(Number(a));
    else if (kind === 's') tally.sent = Number(a);
    else if (kind === 'f') tally.failed++;
    else if (kind === 'fatal') tally.fatal ??= line.slice('fatal '.length);
    else if (kind === 'done') {
      tally.sent = Number(a);
      done = true;
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  void exited.then((code) => {
    if (!done) tally.fatal ??= `the python producer exited (${code}) before it was stopped: ${stderr}`;
  });
  return {
    tally,
    stop: once(async (timeoutMs) => {
      child.stdin.end('stop\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 5_000);
      await exited;
      clearTimeout(timer);
      // The child's last lines are in the pipe: read them to the end.
      await new Promise<void>((resolve) => (child.stdout.readableEnded ? resolve() : child.stdout.on('end', () => resolve())));
    }),
  };
}

export async function startKafkajsProducer(spec: ProducerSpec): Promise<RunningProducer> {
  const tally = new ProducerTally('kafkajs (idempotent, maxInFlightRequests 1)', spec.prefix);
  const kafka = new Kafka({
    clientId: `idempotent-${spec.prefix}`,
    brokers: [spec.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 50, maxRetryTime: 500 },
  });
  // kafkajs guarantees idempotence only with one request in flight.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  let stopping = false;
  /** Sends one chunk until it is acknowledged: a retried send re-uses its sequence numbers. */
  const sendChunk = async (numbers: number[]) => {
    const messages = numbers.map((n) => ({ value: `${spec.prefix}-${n}`, partition: n % spec.partitions }));
    let failingSince: number | null = null;
    for (;;) {
      try {
        await producer.send({ topic: spec.topic, acks: -1, messages });
        tally.acked.push(...numbers);
        return;
      } catch (err) {
        failingSince ??= Date.now();
        if (Date.now() - failingSince > KAFKAJS_GIVE_UP_MS) {
          tally.fatal = `a send failed for ${KAFKAJS_GIVE_UP_MS / 1000} s: ${err instanceof Error ? err.message : String(err)}`;
          return;
        }
        await sleep(50);
      }
    }
  };
  const loop = (async () => {
    while (!stopping && tally.fatal === null) {
      const numbers = Array.from({ length: spec.window }, (_, i) => tally.sent + i);
      tally.sent += numbers.length;
      await sendChunk(numbers);
    }
  })();
  return {
    tally,
    stop: once(async () => {
      // The chunk in flight is sent to the end (or fails as fatal): a sequence skipped would
      // be an out-of-order sequence for the next producer of this id, not what is tested.
      stopping = true;
      await loop;
      await producer.disconnect().catch(() => undefined);
    }),
  };
}
