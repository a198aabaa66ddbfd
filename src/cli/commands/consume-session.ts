/**
 * One `weir consume` run between the consumer's start and its end: prints records as
 * kafka-console-consumer does, counts them, remembers what to commit, and ends on
 * --max-messages, --timeout-ms without a record, Ctrl-C/SIGTERM or a closed output pipe.
 */
import type { EachBatchPayload, IHeaders, KafkaMessage } from 'kafkajs';

export interface PrintOptions {
  timestamp: boolean;
  partition: boolean;
  offset: boolean;
  headers: boolean;
  key: boolean;
}

function text(v: Buffer | string | null | undefined): string {
  return v === null || v === undefined ? 'null' : v.toString();
}

function headerText(headers: IHeaders | undefined): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(headers ?? {})) {
    for (const one of Array.isArray(v) ? v : [v]) parts.push(`${k}:${text(one)}`);
  }
  return parts.length === 0 ? 'NO_HEADERS' : parts.join(',');
}

/** One output line, fields in kafka-console-consumer's order (DefaultMessageFormatter), tab-separated. */
export function formatRecord(m: KafkaMessage, partition: number, p: PrintOptions): string {
  const fields: string[] = [];
  if (p.timestamp) fields.push(`CreateTime:${m.timestamp}`);
  if (p.partition) fields.push(`Partition:${partition}`);
  if (p.offset) fields.push(`Offset:${m.offset}`);
  if (p.headers) fields.push(headerText(m.headers));
  if (p.key) fields.push(text(m.key));
  fields.push(text(m.value));
  return `${fields.join('\t')}\n`;
}

export interface SessionOptions {
  /** Print only this partition's records (the others are paused, but a batch may be in flight). */
  partition?: number;
  maxMessages?: number;
  timeoutMs?: number;
  print: PrintOptions;
}

export class ConsoleSession {
  /** Records printed so far. */
  count = 0;
  /** Next offset to commit per partition: one past the last record printed (with --group). */
  readonly printed = new Map<number, bigint>();
  /** Settles once the run ends: resolved when it ends normally, rejected with what broke it. */
  readonly finished: Promise<void>;
  private done = false;
  private timer: NodeJS.Timeout | undefined;
  private settle!: (err?: unknown) => void;
  private readonly stop = (): void => this.finish();

  constructor(
    private readonly opts: SessionOptions,
    private readonly stdout: NodeJS.WritableStream,
  ) {
    this.finished = new Promise<void>((resolve, reject) => {
      this.settle = (err) => (err === undefined ? resolve() : reject(err));
    });
    process.once('SIGINT', this.stop);
    process.once('SIGTERM', this.stop);
    // `weir consume … | head` closes the pipe: stop reading instead of dying on EPIPE.
    stdout.on('error', this.stop);
  }

  /** Ends the run (once): normally, or with `err`. */
  finish(err?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.settle(err);
  }

  /** (Re)starts the --timeout-ms wait: at the group join and after every record. */
  armTimer(): void {
    if (this.opts.timeoutMs === undefined || this.done) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.finish(), this.opts.timeoutMs);
  }

  /** kafkajs's eachBatch: records are resolved one by one, so exactly those printed are committed. */
  readonly eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    if (this.opts.partition !== undefined && batch.partition !== this.opts.partition) return;
    for (const m of batch.messages) {
      if (this.done || !isRunning() || isStale()) return;
      this.stdout.write(formatRecord(m, batch.partition, this.opts.print));
      resolveOffset(m.offset);
      this.printed.set(batch.partition, BigInt(m.offset) + 1n);
      this.count++;
      this.armTimer();
      if (this.opts.maxMessages !== undefined && this.count >= this.opts.maxMessages) {
        this.finish();
        return;
      }
    }
    await heartbeat();
  };

  dispose(): void {
    clearTimeout(this.timer);
    process.off('SIGINT', this.stop);
    process.off('SIGTERM', this.stop);
    this.stdout.off('error', this.stop);
  }
}
