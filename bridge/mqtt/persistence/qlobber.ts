/**
 * Topic matching for the persistence, from `qlobber` (the matcher aedes-persistence's own
 * in-memory store uses, installed with aedes). It has no typings; these are the calls we make.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface QlobberOptions {
  separator: string;
  wildcard_one: string;
  wildcard_some: string;
}

/** A subscription as aedes-persistence's QlobberSub stores and returns it. */
export interface TrieSub {
  clientId: string;
  topic: string;
  qos: number;
  rh?: number | undefined;
  rap?: boolean | undefined;
  nl?: boolean | undefined;
}

export interface QlobberSubTrie {
  readonly subscriptionsCount: number;
  add(topic: string, sub: TrieSub): void;
  remove(topic: string, sub: { clientId: string; topic: string }): void;
  match(topic: string): TrieSub[];
}

export interface QlobberTrueMatcher {
  add(pattern: string): void;
  test(topic: string): boolean;
}

/** MQTT topic filters [MQTT-4.7]: `/` separates levels, `+` one level, `#` the rest. */
export const MQTT_TOPICS: QlobberOptions = { separator: '/', wildcard_one: '+', wildcard_some: '#' };

const QlobberSub = require('qlobber/aedes/qlobber-sub') as new (options: QlobberOptions) => QlobberSubTrie;
const { QlobberTrue } = require('qlobber') as { QlobberTrue: new (options: QlobberOptions) => QlobberTrueMatcher };

export function subscriptionTrie(): QlobberSubTrie {
  return new QlobberSub(MQTT_TOPICS);
}

export function topicMatcher(patterns: readonly string[]): QlobberTrueMatcher {
  const matcher = new QlobberTrue(MQTT_TOPICS);
  for (const p of patterns) matcher.add(p);
  return matcher;
}
