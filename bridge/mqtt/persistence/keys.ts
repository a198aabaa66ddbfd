/**
 * Key parts and write helpers shared by the persistence's parts.
 *
 * Layout in the store's `mqtt` kv namespace:
 *   ['r', topic]             → { topic, packet }             retained message of a topic
 *   ['s', clientId, topic]   → StoredSub                     a persistent session's subscription
 *   ['o', clientId, seq]     → packet                        queued QoS 1/2 message (seq: global order)
 *   ['i', clientId, msgId]   → packet                        incoming QoS 2 awaiting PUBREL
 *   ['w', clientId]          → packet                        will message of a connected client
 * MQTT strings may be 65535 bytes [MQTT-1.5.3], LMDB keys about 1900: long ones are hashed
 * (the real string is kept in the value).
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Logger } from '../../../src/logger.js';

const MAX_PLAIN_BYTES = 256;

/**
 * aedes-packet (installed with aedes): the form aedes-persistence gives queued and incoming
 * packets (broker id and counter, no wire-only fields such as `length`).
 */
export const Packet = createRequire(import.meta.url)('aedes-packet') as new (original: object) => { messageId?: number | undefined; [field: string]: unknown };

/**
 * A topic or client id as a key part: itself, or a hash when it is too long for an LMDB key or
 * holds U+0000 (the tuple separator of ordered-binary keys; MQTT forbids it [MQTT-1.5.3-2], but
 * a client may send it anyway).
 */
export function keyPart(s: string): string {
  if ((s.length * 3 <= MAX_PLAIN_BYTES || Buffer.byteLength(s) <= MAX_PLAIN_BYTES) && !s.includes('\u0000')) return s;
  return `#sha256:${createHash('sha256').update(s).digest('hex')}`;
}

/** A plain copy of a packet's own fields, as msgpack stores it. */
export function plain<T extends object>(packet: T): Record<string, unknown> {
  return { ...(packet as Record<string, unknown>) };
}

/**
 * For writes nobody waits on (bookkeeping whose loss costs at most a redelivery, which QoS 1
 * allows): a failure is logged, never an unhandled rejection.
 */
export function background(write: Promise<void>, log: Logger, what: string): void {
  write.catch((err: unknown) => log.error({ err }, `MQTT persistence: ${what} failed`));
}
