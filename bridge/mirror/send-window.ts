/**
 * A rule's send window. It caps the bytes handed to the client and not yet reported
 * (`max_in_flight_bytes`) and the records sent past the saved cursors (`max_in_flight`: in the
 * client, or acknowledged and not yet saved, which a crash would send again). librdkafka's own
 * queue is sized just above that cap (client.ts), so memory does not grow with an outage: the log
 * on disk is the buffer.
 *
 * Pumps short of room queue for it (a FIFO of waiters), so a partition with a few fresh records
 * gets its turn after at most one chunk of each backlogged partition.
 */
import type { MirrorRuleSpec } from './config.js';
import type { PartitionMirror } from './partition.js';

export class SendWindow {
  private records = 0;
  private bytes = 0;
  private readonly roomWaiters: (() => void)[] = [];

  constructor(
    private readonly spec: Pick<MirrorRuleSpec, 'maxInFlight' | 'maxInFlightBytes'>,
    private readonly partitions: readonly PartitionMirror[],
  ) {}

  /** Records handed to the client and not yet reported. */
  get inFlight(): number {
    return this.records;
  }

  /** A record of `bytes` was handed to the client. */
  sent(bytes: number): void {
    this.records++;
    this.bytes += bytes;
  }

  /** The client did not take the record just `sent`. */
  unsent(bytes: number): void {
    this.records--;
    this.bytes -= bytes;
  }

  /** The client reported `records` records of `bytes` in all (acknowledged or not). */
  reported(records: number, bytes: number): void {
    this.records -= records;
    this.bytes -= bytes;
    if (this.roomWaiters.length > 0) this.wakeRoom();
  }

  /** The producer was replaced: nothing of the old one is in flight any more. */
  clear(): void {
    this.records = 0;
    this.bytes = 0;
  }

  /** Cursors were saved: what they covered no longer counts against the window. */
  cursorsSaved(): void {
    if (this.roomWaiters.length > 0) this.wakeRoom();
  }

  /**
   * Records of this rule a crash now would send again: everything sent past the saved cursors
   * (in flight, or acknowledged and not yet saved), and reports still owed by an old generation.
   * `max_in_flight` caps this, so it is also the bound on duplicates upstream after a SIGKILL.
   */
  used(): number {
    let unsaved = 0;
    for (const pm of this.partitions) unsaved += pm.unsavedRecords();
    return Math.max(unsaved, this.records);
  }

  hasRoom(): boolean {
    return this.bytes < this.spec.maxInFlightBytes && this.used() < this.spec.maxInFlight;
  }

  /** Whether the bytes in flight reached `max_in_flight_bytes`. */
  bytesFull(): boolean {
    return this.bytes >= this.spec.maxInFlightBytes;
  }

  /** Resolves when a quarter of the window is free again (or on `wakeAll`). */
  waitForRoom(): Promise<void> {
    return new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  /** Wakes every pump waiting for room (a new producer, a stop). */
  wakeAll(): void {
    for (const w of this.roomWaiters.splice(0)) w();
  }

  /**
   * Wakes waiting pumps once a quarter of the window is free, not at the first free slot: a pump
   * woken for one record would read and decode a whole stored batch to send one record of it.
   */
  private wakeRoom(): void {
    if (this.used() > this.spec.maxInFlight * 0.75 || this.bytes > this.spec.maxInFlightBytes * 0.75) return;
    for (const w of this.roomWaiters.splice(0)) w();
  }
}
