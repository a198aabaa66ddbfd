import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCode, errorName } from '../../../src/kafka/protocol/error-codes.js';

describe('Kafka error codes', () => {
  it('the generated table is current (node src/kafka/protocol/gen-error-codes.mjs)', async () => {
    const script = fileURLToPath(new URL('../../../src/kafka/protocol/gen-error-codes.mjs', import.meta.url));
    const render = () => execFileSync(process.execPath, [script, '--stdout'], { encoding: 'utf8' });
    const onDisk = readFileSync(new URL('../../../src/kafka/protocol/error-codes.generated.ts', import.meta.url), 'utf8');
    expect(onDisk).toBe(render());
  });

  // Names are kafkajs's (older Java names for 6 and 14–16).
  it('holds the codes clients act on (numbers from Kafka\'s Errors.java)', () => {
    const expected: Record<string, number> = {
      OFFSET_OUT_OF_RANGE: 1, CORRUPT_MESSAGE: 2, UNKNOWN_TOPIC_OR_PARTITION: 3, LEADER_NOT_AVAILABLE: 5, NOT_LEADER_FOR_PARTITION: 6,
      GROUP_LOAD_IN_PROGRESS: 14, GROUP_COORDINATOR_NOT_AVAILABLE: 15, NOT_COORDINATOR_FOR_GROUP: 16, ILLEGAL_GENERATION: 22,
      UNKNOWN_MEMBER_ID: 25, REBALANCE_IN_PROGRESS: 27, UNSUPPORTED_VERSION: 35, OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
      INVALID_PRODUCER_EPOCH: 47, UNKNOWN_PRODUCER_ID: 59, UNSUPPORTED_COMPRESSION_TYPE: 76, MEMBER_ID_REQUIRED: 79, INVALID_RECORD: 87,
    };
    for (const [name, code] of Object.entries(expected)) {
      expect(errorName(code)).toBe(name);
      expect(errorCode(name as Parameters<typeof errorCode>[0])).toBe(code);
    }
  });
});
