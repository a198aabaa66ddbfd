import { describe, expect, it } from 'vitest';
import { compacts, deletes, kafkaTopicDefaults, parseTopicConfigs, validateTopicConfig, type TopicConfig } from '../../src/store/topic-config.js';

function policy(value: string): TopicConfig['cleanup.policy'] | undefined {
  return parseTopicConfigs({ 'cleanup.policy': value })['cleanup.policy'];
}

function refusal(entries: Record<string, string>): string {
  try {
    parseTopicConfigs(entries);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${JSON.stringify(entries)} was accepted`);
}

describe('compaction topic configs (Kafka names, defaults and validation)', () => {
  it('has Kafka\'s defaults, Long.MAX_VALUE held as the largest exact JS integer', () => {
    const d = kafkaTopicDefaults();
    expect(d['cleanup.policy']).toBe('delete');
    expect(d['min.cleanable.dirty.ratio']).toBe(0.5);
    expect(d['min.compaction.lag.ms']).toBe(0);
    expect(d['max.compaction.lag.ms']).toBe(Number.MAX_SAFE_INTEGER);
    expect(d['delete.retention.ms']).toBe(86_400_000);
  });

  it('reads cleanup.policy as Kafka\'s list: any order and spacing of both is compact,delete', () => {
    expect(policy('delete')).toBe('delete');
    expect(policy('compact')).toBe('compact');
    expect(policy('compact,delete')).toBe('compact,delete');
    expect(policy('delete,compact')).toBe('compact,delete');
    expect(policy(' delete , compact ')).toBe('compact,delete');
    expect(policy('compact,compact')).toBe('compact');
    for (const bad of ['', ' ', 'compress', 'compact,', 'compact;delete', 'Compact']) {
      expect(refusal({ 'cleanup.policy': bad })).toContain('expected delete, compact, or both as compact,delete');
    }
  });

  it('tells which policies compact and which delete by retention', () => {
    const of = (p: TopicConfig['cleanup.policy']) => ({ 'cleanup.policy': p });
    expect([compacts(of('delete')), deletes(of('delete'))]).toEqual([false, true]);
    expect([compacts(of('compact')), deletes(of('compact'))]).toEqual([true, false]);
    expect([compacts(of('compact,delete')), deletes(of('compact,delete'))]).toEqual([true, true]);
  });

  it('validates ranges as Kafka\'s ConfigDef does', () => {
    expect(parseTopicConfigs({ 'min.cleanable.dirty.ratio': '0' })['min.cleanable.dirty.ratio']).toBe(0);
    expect(parseTopicConfigs({ 'min.cleanable.dirty.ratio': '1' })['min.cleanable.dirty.ratio']).toBe(1);
    expect(parseTopicConfigs({ 'min.cleanable.dirty.ratio': '0.01' })['min.cleanable.dirty.ratio']).toBe(0.01);
    expect(refusal({ 'min.cleanable.dirty.ratio': '1.5' })).toContain('expected a number from 0 to 1');
    expect(refusal({ 'min.cleanable.dirty.ratio': '-0.1' })).toContain('expected a number from 0 to 1');
    expect(refusal({ 'min.cleanable.dirty.ratio': 'half' })).toContain('expected a number from 0 to 1');
    expect(refusal({ 'min.compaction.lag.ms': '-1' })).toContain('min.compaction.lag.ms=-1 is invalid');
    expect(refusal({ 'max.compaction.lag.ms': '0' })).toContain('max.compaction.lag.ms=0 is invalid');
    expect(refusal({ 'delete.retention.ms': '-1' })).toContain('delete.retention.ms=-1 is invalid');
    expect(parseTopicConfigs({ 'delete.retention.ms': '0' })['delete.retention.ms']).toBe(0);
  });

  it('accepts Long.MAX_VALUE as a client sends it back, for every Kafka LONG that reaches it', () => {
    const max = '9223372036854775807';
    const parsed = parseTopicConfigs({ 'max.compaction.lag.ms': max, 'min.compaction.lag.ms': max, 'delete.retention.ms': max });
    expect(parsed).toEqual({
      'max.compaction.lag.ms': Number.MAX_SAFE_INTEGER,
      'min.compaction.lag.ms': Number.MAX_SAFE_INTEGER,
      'delete.retention.ms': Number.MAX_SAFE_INTEGER,
    });
    expect(parseTopicConfigs({ 'max.compaction.lag.ms': '1000' })['max.compaction.lag.ms']).toBe(1000);
  });

  it('refuses a minimum compaction lag above the maximum, with Kafka\'s message', () => {
    expect(() => validateTopicConfig({ 'min.compaction.lag.ms': 5, 'max.compaction.lag.ms': 5 })).not.toThrow();
    expect(() => validateTopicConfig({ 'min.compaction.lag.ms': 6, 'max.compaction.lag.ms': 5 })).toThrow(
      'conflict topic config setting min.compaction.lag.ms (6) > max.compaction.lag.ms (5)',
    );
  });
});
