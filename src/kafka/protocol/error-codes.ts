/**
 * Kafka error codes. The table itself is generated (error-codes.generated.ts); this file only
 * derives the lookups from it.
 */
import { KafkaErrors } from './error-codes.generated.js';

export { KafkaErrors };
export type KafkaErrorName = keyof typeof KafkaErrors;

/** The numeric code of a Kafka error, e.g. errorCode('UNSUPPORTED_VERSION') === 35. */
export function errorCode(name: KafkaErrorName): number {
  return KafkaErrors[name].code;
}

const byCode = new Map<number, KafkaErrorName>(
  (Object.keys(KafkaErrors) as KafkaErrorName[]).map((name) => [KafkaErrors[name].code, name]),
);

/** The name of a numeric code, or undefined for a code this table does not know. */
export function errorName(code: number): KafkaErrorName | undefined {
  return byCode.get(code);
}
