/**
 * store.max_topics / store.max_partitions as Kafka clients see them: CreateTopics (validate_only
 * too) and CreatePartitions answer POLICY_VIOLATION (44) (with the store's message in error_message), and a Metadata request
 * that would auto-create a topic past the cap gets POLICY_VIOLATION for that topic (what Kafka's
 * own auto-create answers with the error of a failed create) while the topics that exist or fit
 * are served as usual.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { errorCode } from '../../../src/kafka/protocol/error-codes.js';
import { RawClient, requestFrame, startTestBroker, type TestBroker } from './helpers.js';
import { metadataBody, readMetadataTopics } from './requests.js';

let broker: TestBroker;
let admin: Admin;

beforeAll(async () => {
  broker = await startTestBroker({ store: { maxTopics: 3, maxPartitions: 4 } });
  admin = new Kafka({ clientId: 'weir-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.close();
});

describe('topic caps over the Kafka protocol', () => {
  it('CreateTopics and CreatePartitions past the caps answer POLICY_VIOLATION with the reason', async () => {
    await admin.createTopics({ topics: [{ topic: 'first', numPartitions: 2 }] });
    const create = await admin.createTopics({ topics: [{ topic: 'too-wide', numPartitions: 3 }] }).catch((e: unknown) => e);
    expect(create).toMatchObject({ errors: [{ type: 'POLICY_VIOLATION', code: 44, topic: 'too-wide' }] });
    const grow = await admin.createPartitions({ topicPartitions: [{ topic: 'first', count: 5 }] }).catch((e: unknown) => e);
    expect(grow).toMatchObject({ type: 'POLICY_VIOLATION', code: 44 });
    expect(broker.store.partitionCount('first')).toBe(2);
  });

  it('CreateTopics with validate_only refuses past the caps as the real create does, and creates nothing either way', async () => {
    // 'first' has 2 of the 4 partitions: 3 more do not fit, 2 do.
    const tooWide = await admin.createTopics({ validateOnly: true, topics: [{ topic: 'checked', numPartitions: 3 }] }).catch((e: unknown) => e);
    expect(tooWide).toMatchObject({ errors: [{ type: 'POLICY_VIOLATION', code: 44, topic: 'checked' }] });
    expect(await admin.createTopics({ validateOnly: true, waitForLeaders: false, topics: [{ topic: 'checked', numPartitions: 2 }] })).toBe(true);
    expect(broker.store.hasTopic('checked')).toBe(false);
    // kafkajs answers false for TOPIC_ALREADY_EXISTS.
    expect(await admin.createTopics({ validateOnly: true, waitForLeaders: false, topics: [{ topic: 'first' }] })).toBe(false);
    expect(broker.store.stats()).toMatchObject({ topics: 1, partitions: 2 });
  });

  it('Metadata auto-create past the cap answers POLICY_VIOLATION for the topics it could not create', async () => {
    const client = await RawClient.connect(broker.port);
    try {
      // 'first' has 2 partitions: two new one-partition topics fit (3 topics, 4 partitions), a third does not.
      client.write(requestFrame(3, 1, 7, metadataBody(1, ['first', 'auto-1', 'auto-2', 'auto-3'])));
      const [frame] = await client.waitFrames(1);
      const topics = readMetadataTopics(frame!);
      const byName = Object.fromEntries(topics.map((t) => [t.name, t]));
      expect(byName.first).toEqual({ name: 'first', errorCode: 0, partitions: 2 });
      const created = topics.filter((t) => t.name.startsWith('auto-') && t.errorCode === 0);
      const refused = topics.filter((t) => t.name.startsWith('auto-') && t.errorCode !== 0);
      expect(created).toHaveLength(2);
      expect(refused).toEqual([{ name: expect.stringMatching(/^auto-/), errorCode: errorCode('POLICY_VIOLATION'), partitions: 0 }]);
      expect(broker.store.stats()).toMatchObject({ topics: 3, partitions: 4 });
    } finally {
      client.destroy();
    }
  });
});
