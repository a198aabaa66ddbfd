/** DescribeConfigs tells Kafka clients each topic config's value and Kafka type as a Kafka broker would. */
import { describe, expect, it } from 'vitest';
import { RESOURCE_TYPE_TOPIC, type DescribedConfig } from '../../../src/kafka/protocol/apis/describe-configs.js';
import { createDescribeConfigsHandler } from '../../../src/kafka/server/handlers/describe-configs.js';
import { storePerTest } from '../../helpers/store-per-test.js';

describe('DescribeConfigs for topic configs', () => {
  const s = storePerTest();

  async function describeTopic(name: string): Promise<Map<string, DescribedConfig>> {
    const handler = createDescribeConfigsHandler({ store: s.store });
    const req = { resources: [{ resourceType: RESOURCE_TYPE_TOPIC, resourceName: name, configurationKeys: null }], includeSynonyms: false, includeDocumentation: true };
    const res = await handler.handle(req, {} as never);
    if (typeof res === 'symbol') throw new Error('DescribeConfigs always answers');
    return new Map(res.results[0]!.configs.map((c) => [c.name, c]));
  }

  it('lists the compaction configs with Kafka\'s values and types (LIST, DOUBLE, LONG; Long.MAX_VALUE as Kafka writes it)', async () => {
    await s.store.createTopic('latest', { configs: { 'cleanup.policy': 'delete, compact', 'min.compaction.lag.ms': '60000' } });
    const configs = await describeTopic('latest');
    const pick = (name: string) => {
      const c = configs.get(name)!;
      return [c.value, c.configType, c.configSource];
    };
    // config_type: STRING 2, INT 3, LONG 5, DOUBLE 6, LIST 7; source: DYNAMIC_TOPIC_CONFIG 1, DEFAULT_CONFIG 5.
    expect(pick('cleanup.policy')).toEqual(['compact,delete', 7, 1]);
    expect(pick('min.cleanable.dirty.ratio')).toEqual(['0.5', 6, 5]);
    expect(pick('min.compaction.lag.ms')).toEqual(['60000', 5, 1]);
    expect(pick('max.compaction.lag.ms')).toEqual(['9223372036854775807', 5, 5]);
    expect(pick('delete.retention.ms')).toEqual(['86400000', 5, 5]);
    expect(pick('flush.messages')).toEqual(['9223372036854775807', 5, 5]);
    expect(pick('segment.bytes')).toEqual(['16777216', 3, 5]);
    expect(pick('compression.type')).toEqual(['producer', 2, 5]);
    expect(configs.get('cleanup.policy')!.documentation).toContain('compact,delete: both');
  });
});
