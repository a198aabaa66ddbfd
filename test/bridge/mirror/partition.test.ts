/**
 * The cursor rule of one mirrored partition (bridge/mirror/partition.ts), without a client or a
 * store: the cursor moves to N only when every record below N was acknowledged, whatever order
 * the acknowledgements come back in; a failure stops it there; reports of an older generation
 * (before a rewind, a producer replacement or a skip) move nothing.
 */
import { describe, expect, it } from 'vitest';
import { PartitionMirror, type SentRecord } from '../../../bridge/mirror/partition.js';

function partition(cursor = 0): PartitionMirror {
  return new PartitionMirror({ cursorName: 'mirror.r', topic: 't', partition: 0, upstreamTopic: 'up.t', cursor });
}

/** Sends `count` records from `pm.nextRead` on, as the rule's pump does. */
function send(pm: PartitionMirror, count: number): SentRecord[] {
  return Array.from({ length: count }, () => pm.sent(pm.nextRead, 10));
}

/** A successful delivery report, as the rule handles it. */
function ack(pm: PartitionMirror, entry: SentRecord): void {
  if (pm.reported(entry)) pm.complete(entry);
}

/** A failed delivery report, as the rule handles a retriable error. */
function nack(pm: PartitionMirror, entry: SentRecord): void {
  if (pm.reported(entry)) pm.fail(entry);
}

async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('PartitionMirror: the cursor rule', () => {
  it('starts reading at the cursor it was given; sending moves the read position, not the cursor', () => {
    const pm = partition(5);
    send(pm, 3);
    expect(pm.nextRead).toBe(8);
    expect(pm.cursor).toBe(5);
    expect(pm.inFlight).toBe(3);
    expect(pm.outstanding).toBe(3);
  });

  it('moves the cursor over acknowledgements in order, one record at a time', () => {
    const pm = partition(10);
    const sent = send(pm, 3);
    ack(pm, sent[0]!);
    expect(pm.cursor).toBe(11);
    ack(pm, sent[1]!);
    expect(pm.cursor).toBe(12);
    ack(pm, sent[2]!);
    expect(pm.cursor).toBe(13);
    expect(pm.inFlight).toBe(0);
    expect(pm.persisted).toBe(10); // the saver writes it, not the acknowledgement
  });

  it('holds the cursor below a record not yet acknowledged when later ones are', () => {
    const pm = partition();
    const [a, b, c, d] = send(pm, 4);
    ack(pm, d!);
    ack(pm, b!);
    expect(pm.cursor).toBe(0);
    ack(pm, a!);
    expect(pm.cursor).toBe(2); // over a and b, stopped at c
    ack(pm, c!);
    expect(pm.cursor).toBe(4); // c closes the gap: d was already done
  });

  it('stops the cursor at a failed record and resends from it after the rewind', async () => {
    const pm = partition();
    const [a, b, c, d] = send(pm, 4);
    ack(pm, a!);
    nack(pm, b!);
    expect(pm.phase).toBe('rewinding');
    const drained = pm.drained();
    ack(pm, d!);
    expect(await settled(drained)).toBe(false); // c is still in the client
    ack(pm, c!);
    expect(await settled(drained)).toBe(true);
    expect(pm.cursor).toBe(1); // c and d were acknowledged, but b below them was not
    pm.rewind();
    expect(pm.phase).toBe('running');
    expect(pm.nextRead).toBe(1);
    const [b2, c2, d2] = send(pm, 3);
    expect([b2!.offset, c2!.offset, d2!.offset]).toEqual([1, 2, 3]);
    expect(pm.resent).toBe(3);
    ack(pm, c2!);
    ack(pm, d2!);
    ack(pm, b2!);
    expect(pm.cursor).toBe(4);
  });

  it('ignores reports of an older generation, even for the offset the cursor waits on', () => {
    const pm = partition();
    const [a, b] = send(pm, 2);
    nack(pm, a!);
    pm.rewind();
    const [a2] = send(pm, 1);
    // b's report arrives after the rewind: stale, and it must not count as offset 1 done.
    expect(pm.reported(b!)).toBe(false);
    pm.complete(b!);
    ack(pm, a2!);
    expect(pm.cursor).toBe(1);
    // a stale failure does not start another rewind either.
    pm.fail(a!);
    expect(pm.phase).toBe('running');
  });

  it('a replaced producer owes no reports: drained at once, and everything resent from the cursor', async () => {
    const pm = partition(3);
    const [a] = send(pm, 4);
    ack(pm, a!);
    const drained = pm.drained();
    const before = pm.generation;
    pm.reset();
    expect(await settled(drained)).toBe(true);
    expect(pm.outstanding).toBe(0);
    expect(pm.generation).toBe(before + 1);
    expect(pm.nextRead).toBe(4);
    expect(pm.inFlight).toBe(0);
  });

  it('moves past what retention deleted beyond the cursor, and ignores what was sent from before the jump', () => {
    const pm = partition(2);
    const [a, b, c] = send(pm, 3); // offsets 2, 3, 4
    expect(pm.moveToLogStart(7)).toBe(5);
    expect(pm.cursor).toBe(7);
    expect(pm.nextRead).toBe(7);
    expect(pm.reported(a!)).toBe(false);
    ack(pm, b!);
    nack(pm, c!); // a failure from before the skip starts no rewind
    expect(pm.phase).toBe('running');
    expect(pm.outstanding).toBe(0);
    expect(pm.cursor).toBe(7);
    const [h] = send(pm, 1);
    ack(pm, h!);
    expect(pm.cursor).toBe(8);
  });

  it('does not move when the log start is at or below the cursor', () => {
    const pm = partition(5);
    const [a] = send(pm, 1);
    const generation = pm.generation;
    expect(pm.moveToLogStart(5)).toBe(0);
    expect(pm.moveToLogStart(3)).toBe(0);
    expect(pm.generation).toBe(generation);
    ack(pm, a!);
    expect(pm.cursor).toBe(6);
  });

  it('keeps the rule across the compaction of a long queue', () => {
    const pm = partition();
    const sent = send(pm, 3000);
    for (const entry of sent.slice(0, 2000)) ack(pm, entry);
    expect(pm.cursor).toBe(2000);
    for (const entry of sent.slice(2001).reverse()) ack(pm, entry);
    expect(pm.cursor).toBe(2000);
    ack(pm, sent[2000]!);
    expect(pm.cursor).toBe(3000);
    expect(pm.inFlight).toBe(0);
  });

  it('sends records one at a time, marked alone, below the isolation mark', () => {
    const pm = partition();
    pm.isolateUntil = 2;
    expect(pm.isolating()).toBe(true);
    const [a, b, c] = send(pm, 3);
    expect([a!.alone, b!.alone, c!.alone]).toEqual([true, true, false]);
    expect(pm.isolating()).toBe(false);
  });
});

describe('PartitionMirror: the cursor rule across compaction gaps', () => {
  it('passes a gap with the acknowledgement of the last record sent before it, never before', () => {
    const pm = partition();
    const a = pm.sent(0, 10);
    const b = pm.sent(1, 10);
    pm.passed(6); // offsets 2..5 hold no record
    expect(pm.nextRead).toBe(6);
    expect(pm.cursor).toBe(0);
    ack(pm, b);
    expect(pm.cursor).toBe(0); // 0 is not acknowledged: the gap after 1 must wait
    ack(pm, a);
    expect(pm.cursor).toBe(6);
  });

  it('passes a gap between records up to the next one still unacknowledged', () => {
    const pm = partition();
    const a = pm.sent(0, 10);
    pm.passed(5);
    const b = pm.sent(7, 10); // 5 and 6 were thinned out of its batch
    ack(pm, a);
    expect(pm.cursor).toBe(1); // the gap ends at 7, which is in flight: the cursor stays below it
    ack(pm, b);
    expect(pm.cursor).toBe(8);
  });

  it('passes a gap at once when nothing sent is unacknowledged, so a log ending in one is caught up', () => {
    const pm = partition(3);
    pm.passed(9);
    expect(pm.cursor).toBe(9);
    pm.passed(7); // behind the read position: nothing to do
    expect(pm.nextRead).toBe(9);
    expect(pm.cursor).toBe(9);
  });

  it('counts the records a crash would send again, not the offsets: gaps hold none', () => {
    const pm = partition();
    const a = pm.sent(0, 10);
    pm.passed(1000);
    const b = pm.sent(1000, 10);
    const c = pm.sent(1001, 10);
    expect(pm.unsavedRecords()).toBe(3);
    ack(pm, a);
    ack(pm, b);
    nack(pm, c);
    expect(pm.cursor).toBe(1001);
    pm.rewind(); // the acknowledged a and b stay counted until a save covers them
    expect(pm.unsavedRecords()).toBe(2);
    const c2 = pm.sent(1001, 10);
    expect(pm.unsavedRecords()).toBe(3);
    pm.persisted = pm.cursor; // what the cursor saver does
    expect(pm.unsavedRecords()).toBe(1);
    ack(pm, c2);
    pm.persisted = pm.cursor;
    expect(pm.unsavedRecords()).toBe(0);
  });

  it('keeps the acknowledged records no save covers yet across the trimming of a long queue', () => {
    const pm = partition();
    const sent = Array.from({ length: 3000 }, (_, i) => pm.sent(i * 10, 10));
    pm.persisted = 10_000; // a save covered the first 1000
    for (const entry of sent.slice(0, 2500)) ack(pm, entry);
    expect(pm.cursor).toBe(24_991);
    expect(pm.unsavedRecords()).toBe(2000);
  });

  it('does not pass a gap after a failed record; after the rewind the gap is passed again', () => {
    const pm = partition();
    const a = pm.sent(0, 10);
    pm.passed(4);
    nack(pm, a);
    expect(pm.cursor).toBe(0);
    pm.rewind();
    expect(pm.nextRead).toBe(0);
    const a2 = pm.sent(0, 10);
    ack(pm, a2);
    expect(pm.cursor).toBe(1); // the gap is not known in this generation until read again
    pm.passed(4);
    expect(pm.cursor).toBe(4);
  });
});
