/**
 * [MQTT-4.6.0-2] a client's PUBACKs go out in the order its PUBLISHes arrived, even when the
 * appends finish in another order (a retry, a full in-flight window, a refusal). The ingest is
 * driven directly here with a store whose appends the test completes by hand, in reverse.
 */
import type { Client, PublishPacket } from 'aedes';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Ingest } from '../../../bridge/mqtt/ingest.js';
import { Mapper, compileRule, defaultRule } from '../../../bridge/mqtt/mapping.js';
import { WeirError } from '../../../src/errors.js';
import type { AppendResult, AppendWaiter, LogStore } from '../../../src/store/types.js';

type Done = (err: unknown, result?: AppendResult) => void;

function harness(maxInflightPerClient = 100) {
  const pending: Done[] = [];
  const store = {
    hasTopic: () => true,
    partitionCount: () => 1,
    appendRecordsTo: (_t: string, _p: number, _r: unknown[], waiter: AppendWaiter) => void pending.push((err, result) => waiter.appendSettled(err, result)),
    appendRecords: () => new Promise((resolve, reject) => pending.push((err, result) => (err === null ? resolve(result) : reject(err)))),
  } as unknown as LogStore;
  const ingest = new Ingest(
    store,
    { mapper: new Mapper([compileRule(defaultRule('mqtt'), 0, [])]), unmatched: 'store', autoCreateTopics: true,
      createdTopicConfigs: {}, maxInflightPerClient, maxRetained: 10 },
    pino({ level: 'silent' }),
  );
  const client = { id: 'c1', closed: false } as unknown as Client;
  const calls: string[] = [];
  const publish = (n: number): void =>
    ingest.authorizePublish(client, { cmd: 'publish', topic: `t/${n}`, payload: Buffer.from(String(n)), qos: 1, retain: false, dup: false, messageId: n } as PublishPacket, (err) =>
      calls.push(err ? `${n}:${err.message}` : `${n}`),
    );
  return { ingest, pending, calls, publish };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('PUBACK order', () => {
  it('calls back in arrival order when the appends finish in reverse', async () => {
    const h = harness();
    for (let n = 0; n < 5; n++) h.publish(n);
    expect(h.pending).toHaveLength(5);
    for (let i = 4; i >= 1; i--) {
      h.pending[i]!(null, { baseOffset: i, lastOffset: i, logStartOffset: 0 });
      await tick();
      expect(h.calls).toEqual([]); // all wait for the first
    }
    h.pending[0]!(null, { baseOffset: 0, lastOffset: 0, logStartOffset: 0 });
    await tick();
    expect(h.calls).toEqual(['0', '1', '2', '3', '4']);
  });

  it('a refused message is called back with its error in its place, after the earlier ones', async () => {
    const h = harness();
    for (let n = 0; n < 3; n++) h.publish(n);
    h.pending[1]!(new WeirError('INVALID_ARGUMENT', 'too big'));
    h.pending[2]!(null, { baseOffset: 1, lastOffset: 1, logStartOffset: 0 });
    await tick();
    expect(h.calls).toEqual([]);
    h.pending[0]!(null, { baseOffset: 0, lastOffset: 0, logStartOffset: 0 });
    await tick();
    expect(h.calls).toHaveLength(3);
    expect(h.calls[0]).toBe('0');
    expect(h.calls[1]).toMatch(/^1:the log refused the message: too big/);
    expect(h.calls[2]).toBe('2');
  });

  it('past the in-flight window, later messages wait for a slot and still come back in order', async () => {
    const h = harness(2);
    for (let n = 0; n < 4; n++) h.publish(n);
    await tick();
    expect(h.pending).toHaveLength(2); // two in the store, two waiting for a slot
    h.pending[1]!(null, { baseOffset: 1, lastOffset: 1, logStartOffset: 0 });
    await tick();
    expect(h.pending).toHaveLength(3);
    h.pending[2]!(null, { baseOffset: 2, lastOffset: 2, logStartOffset: 0 });
    await tick();
    h.pending[0]!(null, { baseOffset: 0, lastOffset: 0, logStartOffset: 0 });
    await tick();
    expect(h.pending).toHaveLength(4);
    expect(h.calls).toEqual(['0', '1', '2']);
    h.pending[3]!(null, { baseOffset: 3, lastOffset: 3, logStartOffset: 0 });
    await tick();
    expect(h.calls).toEqual(['0', '1', '2', '3']);
    expect(h.ingest.stats.appended).toBe(4);
  });
});
