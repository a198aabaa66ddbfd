/**
 * store.max_topics and store.max_partitions: every topic and partition lives in memory, so the
 * registry refuses to grow past them, whatever asks (the Kafka handlers, MQTT auto-create and the
 * CLI all come through createTopic and createPartitions).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { isWeirError } from '../../src/errors.js';
import { openStore } from '../../src/store/index.js';
import type { LogStore } from '../../src/store/types.js';
import { openTestStore, storeOptions, tempDir } from '../helpers/store.js';

async function refusal(p: Promise<unknown>): Promise<{ code: string; retriable: boolean; message: string; details: Record<string, unknown> | undefined }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isWeirError(err)) throw new Error(`expected a WeirError, got ${String(err)}`);
  return { code: err.code, retriable: err.retriable, message: err.message, details: err.details };
}

describe('topic and partition caps', () => {
  let tmp: { dir: string; cleanup(): void };
  let store: LogStore;

  beforeEach(async () => {
    tmp = tempDir();
    store = await openTestStore(tmp.dir, { maxTopics: 3, maxPartitions: 5 });
  });

  afterEach(async () => {
    await store.close();
    tmp.cleanup();
  });

  it('refuses a topic past store.max_topics, and takes one again after a delete', async () => {
    for (const t of ['a', 'b', 'c']) await store.createTopic(t);
    const err = await refusal(store.createTopic('d'));
    expect(err).toMatchObject({ code: 'TOPIC_LIMIT_REACHED', retriable: false, details: { limit: 'store.max_topics', max: 3, current: 3 } });
    expect(err.message).toMatch(/store\.max_topics is 3/);
    expect(store.hasTopic('d')).toBe(false);
    expect(store.stats()).toMatchObject({ topics: 3, partitions: 3 });
    await store.deleteTopic('a');
    await store.createTopic('d');
    expect(store.listTopics()).toEqual(['b', 'c', 'd']);
  });

  it('refuses partitions past store.max_partitions, on create and on grow', async () => {
    await store.createTopic('a', { partitions: 4 });
    const onCreate = await refusal(store.createTopic('b', { partitions: 2 }));
    expect(onCreate).toMatchObject({ code: 'TOPIC_LIMIT_REACHED', details: { limit: 'store.max_partitions', max: 5, current: 4, requested: 2 } });
    expect(store.hasTopic('b')).toBe(false);
    const onGrow = await refusal(store.createPartitions('a', 6));
    expect(onGrow).toMatchObject({ code: 'TOPIC_LIMIT_REACHED', details: { limit: 'store.max_partitions', requested: 2 } });
    expect(store.partitionCount('a')).toBe(4);
    await store.createPartitions('a', 5);
    expect(store.stats()).toMatchObject({ topics: 1, partitions: 5 });
  });

  it('opens a data dir already over the caps, warns, and refuses more', async () => {
    for (const t of ['a', 'b', 'c']) await store.createTopic(t);
    await store.close();
    const lines: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) });
    store = await openStore(storeOptions(tmp.dir, { maxTopics: 2, maxPartitions: 5 }), logger);
    expect(store.listTopics()).toEqual(['a', 'b', 'c']);
    expect(lines.some((l) => l.level === 40 && /store\.max_topics/.test(l.msg))).toBe(true);
    expect((await refusal(store.createTopic('d'))).code).toBe('TOPIC_LIMIT_REACHED');
    await store.deleteTopic('a');
    expect((await refusal(store.createTopic('d'))).code).toBe('TOPIC_LIMIT_REACHED');
    await store.deleteTopic('b');
    await store.createTopic('d');
  });
});
