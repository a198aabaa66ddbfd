/**
 * The producer fault tests' rig: a WireProducer in this process pointed at the upstream Weir's
 * fault proxy, records that name themselves (key "partition:seq"), a driver that streams them
 * with a bounded window of unreported records (as the mirror's window bounds it), and a check of
 * what arrived upstream against what the producer reported.
 */
import { randomBytes } from 'node:crypto';
import { CompressionType } from '../../../../src/kafka/protocol/compression.js';
import { WireProducer, type DeliveryError, type WireProducerOptions } from '../../../../bridge/mirror/wire/producer.js';
import type { UpRecord } from '../helpers.js';

/** What a record's report said: undefined = not reported yet, 0 = acknowledged, else the error code. */
type Outcome = number | undefined;

interface Tag {
  readonly partition: number;
  readonly seq: number;
}

export interface RigOptions extends Partial<Omit<WireProducerOptions, 'report' | 'connection' | 'problem'>> {
  port: number;
}

export interface StreamOptions {
  window?: number;
  perSecond?: number;
  during?: () => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ProducerRig {
  readonly producer: WireProducer;
  /** Per partition, each appended record's outcome by seq. */
  readonly outcomes = new Map<number, Outcome[]>();
  /** Reports beyond the first for one record (each record must be reported exactly once). */
  reportedTwice = 0;
  /** Every report with an error, as "code: message". */
  readonly errors: string[] = [];
  /** What the producer told the operator, as "what: message". */
  readonly problems: string[] = [];
  /** Per partition, when its first failure report came (Date.now()). */
  readonly firstFailureAt = new Map<number, number>();
  private unreported = 0;
  private wake: (() => void) | undefined;

  constructor({ port, ...options }: RigOptions) {
    this.producer = new WireProducer({
      bootstrap: [`127.0.0.1:${port}`],
      clientId: 'producer-faults',
      security: () => ({}),
      compression: CompressionType.Lz4,
      batchRecords: 500,
      batchBytes: 1_000_000,
      lingerMs: 5,
      connectTimeoutMs: 5_000,
      requestTimeoutMs: 15_000,
      backoffMinMs: 50,
      backoffMaxMs: 500,
      ...options,
      report: (err, opaques) => this.report(err, opaques as Tag[]),
      connection: () => undefined,
      problem: (err, what) => void this.problems.push(`${what}: ${err.message}`),
    });
  }

  /** Appends record `seq` of `partition`; `value` replaces the usual small one. */
  append(topic: string, partition: number, seq: number, value?: Buffer): void {
    let list = this.outcomes.get(partition);
    if (list === undefined) this.outcomes.set(partition, (list = []));
    if (list.length !== seq) throw new Error(`partition ${partition}: append ${seq} after ${list.length - 1}`);
    list.push(undefined);
    const v = value ?? Buffer.from(`value ${partition}:${seq} ${'x'.repeat(64)}`);
    this.unreported++;
    // No origin headers: the key names the record.
    this.producer.append(topic, partition, { key: Buffer.from(`${partition}:${seq}`), value: v, headers: [], timestamp: Date.now() }, v.length, undefined, seq, { partition, seq });
  }

  /** Records appended so far to `partition`. */
  appended(partition: number): number {
    return this.outcomes.get(partition)?.length ?? 0;
  }

  /**
   * Appends `perPartition` more records to each of `partitions`, round robin in chunks, never
   * more than `window` unreported and (with `perSecond`) no faster than that many records a
   * second in all; `during` runs between chunks (a test's fault schedule).
   */
  async stream(topic: string, partitions: readonly number[], perPartition: number, o: StreamOptions = {}): Promise<void> {
    const { window = 10_000, perSecond = Infinity, during } = o;
    const end = new Map(partitions.map((p) => [p, this.appended(p) + perPartition]));
    const started = Date.now();
    let sent = 0;
    while (partitions.some((p) => this.appended(p) < end.get(p)!)) {
      during?.();
      if (this.unreported >= window) {
        await this.reportOrTimeout(100);
        continue;
      }
      if (sent > ((Date.now() - started) / 1000) * perSecond) {
        await sleep(5);
        continue;
      }
      for (const p of partitions) {
        for (let i = 0; i < 200 && this.appended(p) < end.get(p)!; i++, sent++) this.append(topic, p, this.appended(p));
      }
      await sleep(1);
    }
  }

  /** Resolves once every appended record has been reported; throws after `timeoutMs`. */
  async settled(timeoutMs: number): Promise<void> {
    this.producer.flush();
    const deadline = Date.now() + timeoutMs;
    while (this.unreported > 0) {
      if (Date.now() > deadline) throw new Error(`${this.unreported} records unreported after ${timeoutMs} ms; problems: ${this.problems.slice(-5).join(' | ')}`);
      await this.reportOrTimeout(100);
    }
  }

  /** Seqs of `partition` whose report matches `which`. */
  seqs(partition: number, which: (o: Outcome) => boolean): number[] {
    const out: number[] = [];
    (this.outcomes.get(partition) ?? []).forEach((o, seq) => which(o) && out.push(seq));
    return out;
  }

  count(which: (o: Outcome) => boolean): number {
    let n = 0;
    for (const p of this.outcomes.keys()) n += this.seqs(p, which).length;
    return n;
  }

  close(): void {
    this.producer.close();
  }

  private report(err: DeliveryError | null, tags: readonly Tag[]): void {
    if (err !== null) {
      this.errors.push(`${err.code}: ${err.message}`);
      for (const t of tags) if (!this.firstFailureAt.has(t.partition)) this.firstFailureAt.set(t.partition, Date.now());
    }
    for (const t of tags) {
      const list = this.outcomes.get(t.partition)!;
      if (list[t.seq] !== undefined) {
        this.reportedTwice++;
        continue;
      }
      list[t.seq] = err === null ? 0 : err.code;
      this.unreported--;
    }
    this.wake?.();
  }

  private reportOrTimeout(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      this.wake = done;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}

export const acked = (o: Outcome): boolean => o === 0;
export const failed = (o: Outcome): boolean => o !== undefined && o !== 0;

export interface UpstreamCheck {
  /** Records upstream whose seq had already arrived on that partition. */
  duplicates: number;
  /** Records upstream with a seq below one that arrived before it (and not seen before). */
  reordered: number;
  /** Acknowledged records not upstream. */
  missing: number;
  /** Records reported failed that arrived anyway (allowed: the outcome of a lost request is unknown). */
  failedButPresent: number;
  /** Records upstream in another partition than their own, or never appended. */
  foreign: number;
  /** Distinct records upstream. */
  distinct: number;
}

/** Compares what arrived upstream (in partition, offset order) with the rig's reports. */
export function checkUpstream(records: readonly UpRecord[], rig: ProducerRig): UpstreamCheck {
  const check: UpstreamCheck = { duplicates: 0, reordered: 0, missing: 0, failedButPresent: 0, foreign: 0, distinct: 0 };
  const seen = new Map<number, Set<number>>();
  const highest = new Map<number, number>();
  for (const r of records) {
    const [p, seq] = (r.key ?? '').split(':').map(Number) as [number, number];
    const outcome = rig.outcomes.get(p);
    if (p !== r.partition || outcome === undefined || !(seq < outcome.length)) {
      check.foreign++;
      continue;
    }
    let set = seen.get(p);
    if (set === undefined) seen.set(p, (set = new Set()));
    if (set.has(seq)) {
      check.duplicates++;
      continue;
    }
    set.add(seq);
    check.distinct++;
    if (seq < (highest.get(p) ?? -1)) check.reordered++;
    else highest.set(p, seq);
    if (failed(outcome[seq])) check.failedButPresent++;
  }
  for (const [p, outcome] of rig.outcomes) {
    outcome.forEach((o, seq) => {
      if (acked(o) && !(seen.get(p)?.has(seq) ?? false)) check.missing++;
    });
  }
  return check;
}

/** A value the topic's lz4 cannot shrink. */
export function incompressible(bytes: number): Buffer {
  return randomBytes(bytes);
}
