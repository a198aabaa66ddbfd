/**
 * The one topic auto-create (src/store/auto-create.ts) that the Kafka listener and MQTT ingest
 * share, on a real store: creates of the same and of different topics run at once, unserialized,
 * and none fails, creates twice, or shares another topic's log.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TopicAutoCreator } from '../../src/store/auto-create.js';
import type { LogStore } from '../../src/store/index.js';
import { openTestStore, tempDir } from '../helpers/store.js';
import { expectWeirError, recordsOf } from './contract.js';

describe('TopicAutoCreator', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: LogStore;

  beforeEach(async () => {
    tmp = tempDir();
    store = await openTestStore(tmp.dir, { defaultPartitions: 2 });
  });

  afterEach(async () => {
    await store.close();
    tmp.cleanup();
  });

  it('concurrent creates of the same and of different topics: each created once, each with a log of its own', async () => {
    const createTopic = vi.spyOn(store, 'createTopic');
    const created: string[] = [];
    const creator = new TopicAutoCreator(store, { configs: { 'flush.ms': '5' }, onCreated: (t) => created.push(t) });
    const topics = Array.from({ length: 20 }, (_, i) => `auto-${i}`);
    await Promise.all(topics.flatMap((t) => Array.from({ length: 5 }, () => creator.ensure(t))));
    expect(createTopic).toHaveBeenCalledTimes(topics.length);
    expect(created.sort()).toEqual([...topics].sort());
    await Promise.all(topics.flatMap((t) => [0, 1].map((p) => store.appendRecords(t, p, [{ key: null, value: Buffer.from(`${t}/${p}`) }]))));
    for (const t of topics) {
      expect(store.describeTopic(t).overrides['flush.ms']).toBe(5);
      for (const p of [0, 1]) expect(recordsOf(store, t, p).map((r) => r.value)).toEqual([`${t}/${p}`]);
    }
  });

  it('a topic that exists is not created again', async () => {
    await store.createTopic('there');
    const createTopic = vi.spyOn(store, 'createTopic');
    const onCreated = vi.fn();
    await new TopicAutoCreator(store, { onCreated }).ensure('there');
    expect(createTopic).not.toHaveBeenCalled();
    expect(onCreated).not.toHaveBeenCalled();
  });

  it('two creators racing for one topic (the Kafka and MQTT paths): both resolve, one creates it', async () => {
    // Both see the topic missing, as when each checked before the other's create: the second
    // create meets TOPIC_ALREADY_EXISTS, which means the topic is there.
    const blind = { hasTopic: () => false, createTopic: store.createTopic.bind(store) };
    const onCreated = vi.fn();
    await Promise.all([new TopicAutoCreator(blind, { onCreated }).ensure('raced'), new TopicAutoCreator(blind, { onCreated }).ensure('raced')]);
    expect(onCreated).toHaveBeenCalledTimes(1);
    expect(store.describeTopic('raced').partitions).toHaveLength(2);
  });

  it("rejects with the store's refusal, and tries again on the next request", async () => {
    const createTopic = vi.spyOn(store, 'createTopic');
    const creator = new TopicAutoCreator(store);
    await expectWeirError(Promise.all([creator.ensure('bad name'), creator.ensure('bad name')]), 'INVALID_TOPIC_NAME');
    await expectWeirError(creator.ensure('bad name'), 'INVALID_TOPIC_NAME');
    expect(createTopic).toHaveBeenCalledTimes(2);
  });
});
