/**
 * The exactly-once rule options as the config schema reads them (defaults, the errors it gives),
 * and the cursor records' format: what another device's or rule's record, or a malformed one,
 * does to a reader (nothing).
 */
import { describe, expect, it } from 'vitest';
import { mirrorRules } from '../../../bridge/mirror/config.js';
import { cursorRecord, parseCursor } from '../../../bridge/mirror/cursor-topic.js';
import { transactionalId } from '../../../bridge/mirror/txn-producer.js';

const rule = { name: 'r1', upstream: 'central', topics: ['sensors.*'] };

function parse(extra: Record<string, unknown>) {
  return mirrorRules().parse([{ ...rule, ...extra }], { cwd: '/' } as never);
}

describe('delivery and cursor_topic', () => {
  it('defaults to at-least-once with the weir-mirror-cursors topic', () => {
    const r = parse({});
    expect(r.ok && r.value[0]).toMatchObject({ delivery: 'at-least-once', cursorTopic: 'weir-mirror-cursors' });
  });

  it('reads exactly-once and a cursor topic', () => {
    const r = parse({ delivery: 'exactly-once', cursor_topic: 'dc.cursors' });
    expect(r.ok && r.value[0]).toMatchObject({ delivery: 'exactly-once', cursorTopic: 'dc.cursors' });
  });

  it('names the field at fault', () => {
    expect(parse({ delivery: 'exactly_once' })).toEqual({ ok: false, why: 'rules[0].delivery: expected one of at-least-once, exactly-once' });
    expect(parse({ delivery: 'exactly-once', cursor_topic: 'a/b' })).toEqual({ ok: false, why: 'rules[0].cursor_topic: expected a Kafka topic name' });
    const deadLettering = parse({ delivery: 'exactly-once', on_refused: 'skip' });
    expect(deadLettering.ok).toBe(false);
    expect(!deadLettering.ok && deadLettering.why).toMatch(/^rules\[0\]\.on_refused: skip cannot go with delivery: exactly-once/);
  });
});

describe('cursor records', () => {
  it('round-trips this device and rule, and ignores others and anything malformed', () => {
    const { key, value } = cursorRecord('edge-1', 'r1', 'sensors.a', 3, 1234);
    expect(parseCursor('edge-1', 'r1', key, value)).toEqual({ topic: 'sensors.a', partition: 3, next: 1234 });
    expect(parseCursor('edge-2', 'r1', key, value)).toBeUndefined();
    expect(parseCursor('edge-1', 'r2', key, value)).toBeUndefined();
    expect(parseCursor('edge-1', 'r1', key, Buffer.from('{"next":"x"}'))).toBeUndefined();
    expect(parseCursor('edge-1', 'r1', Buffer.from('not json'), value)).toBeUndefined();
    expect(parseCursor('edge-1', 'r1', key, null)).toBeUndefined();
  });

  it('derives the transactional.id from the device id and the rule', () => {
    expect(transactionalId('edge-1', 'r1')).toBe('weir-mirror.edge-1.r1');
  });
});
