/**
 * The handlers a listener serves, by API key. ApiVersions answers from `ranges()`, so what is
 * advertised is exactly what is registered: a version range written in two places would drift.
 */
import { WeirError } from '../../errors.js';
import type { ApiVersionRange } from '../protocol/apis/api-versions.js';
import type { KafkaHandler } from './handler.js';

export class HandlerRegistry {
  private readonly byKey = new Map<number, KafkaHandler>();

  constructor(handlers: readonly KafkaHandler[]) {
    for (const h of handlers) this.register(h);
  }

  register(handler: KafkaHandler): void {
    const { apiKey, name, minVersion, maxVersion, firstFlexibleVersion } = handler;
    const existing = this.byKey.get(apiKey);
    if (existing !== undefined) {
      throw new WeirError('INVALID_ARGUMENT', `two Kafka handlers for API key ${apiKey}: ${existing.name} and ${name}`);
    }
    if (!Number.isInteger(minVersion) || !Number.isInteger(maxVersion) || minVersion < 0 || maxVersion < minVersion) {
      throw new WeirError('INVALID_ARGUMENT', `Kafka handler ${name}: bad version range ${minVersion}–${maxVersion}`);
    }
    if (firstFlexibleVersion !== null && (!Number.isInteger(firstFlexibleVersion) || firstFlexibleVersion < 0)) {
      throw new WeirError('INVALID_ARGUMENT', `Kafka handler ${name}: bad first flexible version ${firstFlexibleVersion}`);
    }
    this.byKey.set(apiKey, handler);
  }

  get(apiKey: number): KafkaHandler | undefined {
    return this.byKey.get(apiKey);
  }

  /** Every registered range, by API key, for ApiVersions. */
  ranges(): ApiVersionRange[] {
    return [...this.byKey.values()]
      .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }
}
