/**
 * Origin headers: what every mirrored record carries so the datacenter can tell where it came from
 * and drop the duplicates an at-least-once mirror sends after a crash or a retry (device, local
 * topic, partition and offset identify a record for good). The README documents both styles.
 *
 * - `compact` (the default): one header, `weir.origin: <device>/<topic>/<partition>/<offset>`.
 *   Topic names cannot hold "/" (Kafka's rule: [a-zA-Z0-9._-]) and partition and offset are
 *   numbers, so the value splits from the right even when a device id holds "/". The client
 *   converts every header of every record on its own, so one header instead of four is most of
 *   the origin's cost gone, and about 60 bytes a record fewer before compression.
 * - `four`: the four headers of earlier versions, `weir.origin.device`, `.topic`, `.partition`,
 *   `.offset`, for datacenter consumers written against them.
 * - `none`: no origin header, for a datacenter that needs none (delivery: exactly-once, or no
 *   consumer that drops duplicates); the record goes with its own headers only.
 */
import type { DecodedRecord } from '../../src/kafka/protocol/record-batch.js';
import type { MessageHeader } from '@confluentinc/kafka-javascript';

export const ORIGIN_HEADERS = {
  compact: 'weir.origin',
  device: 'weir.origin.device',
  topic: 'weir.origin.topic',
  partition: 'weir.origin.partition',
  offset: 'weir.origin.offset',
} as const;

export const ORIGIN_HEADER_STYLES = ['compact', 'four', 'none'] as const;
export type OriginHeaderStyle = (typeof ORIGIN_HEADER_STYLES)[number];

/**
 * The origin as Weir's producer writes it into a record, as bytes: headers the same for every
 * record of the partition, then one whose value is `lastPrefix` followed by the record's offset
 * in decimal (written digit by digit, no string or Buffer a record).
 */
export interface OriginBytes {
  readonly fixed: readonly { readonly key: Buffer; readonly value: Buffer }[];
  readonly lastKey: Buffer;
  readonly lastPrefix: Buffer;
}

/** A partition's origin, made once per chunk: everything but the record's offset. */
export type RecordOrigin =
  | { readonly style: 'compact'; /** `<device>/<topic>/<partition>/` */ readonly prefix: string; readonly bytes: OriginBytes }
  | {
      readonly style: 'four';
      /** As librdkafka's binding takes them. */
      readonly fixed: readonly [MessageHeader, MessageHeader, MessageHeader];
      readonly bytes: OriginBytes;
    }
  | { readonly style: 'none'; readonly bytes: undefined };

export function recordOrigin(deviceId: string, pm: { readonly topic: string; readonly partition: number }, style: OriginHeaderStyle): RecordOrigin {
  if (style === 'compact') {
    const prefix = `${deviceId}/${pm.topic}/${pm.partition}/`;
    return { style, prefix, bytes: { fixed: [], lastKey: Buffer.from(ORIGIN_HEADERS.compact), lastPrefix: Buffer.from(prefix) } };
  }
  if (style === 'none') return { style, bytes: undefined };
  const fixed = [
    { key: Buffer.from(ORIGIN_HEADERS.device), value: Buffer.from(deviceId) },
    { key: Buffer.from(ORIGIN_HEADERS.topic), value: Buffer.from(pm.topic) },
    { key: Buffer.from(ORIGIN_HEADERS.partition), value: Buffer.from(String(pm.partition)) },
  ];
  return {
    style,
    fixed: [{ [ORIGIN_HEADERS.device]: fixed[0]!.value }, { [ORIGIN_HEADERS.topic]: fixed[1]!.value }, { [ORIGIN_HEADERS.partition]: fixed[2]!.value }],
    bytes: { fixed, lastKey: Buffer.from(ORIGIN_HEADERS.offset), lastPrefix: Buffer.alloc(0) },
  };
}

/** The record's own headers followed by its origin, and its size in record bytes (key, value, own headers). */
export function headersWithOrigin(r: DecodedRecord, origin: RecordOrigin): { headers: MessageHeader[]; bytes: number } {
  const headers: MessageHeader[] = [];
  let bytes = (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const h of r.headers) {
    // librdkafka's binding takes no null header value; Kafka readers see an empty one.
    headers.push({ [h.key]: h.value ?? Buffer.alloc(0) });
    bytes += h.key.length + (h.value?.length ?? 0);
  }
  // A string value: the binding copies its UTF-8 bytes itself, no Buffer is made per record.
  if (origin.style === 'compact') headers.push({ 'weir.origin': origin.prefix + r.offset });
  else if (origin.style === 'four') headers.push(origin.fixed[0], origin.fixed[1], origin.fixed[2], { [ORIGIN_HEADERS.offset]: Buffer.from(String(r.offset)) });
  return { headers, bytes };
}

/** Reads a `weir.origin` value back (what a datacenter consumer does to drop duplicates). */
export function parseCompactOrigin(value: string): { device: string; topic: string; partition: number; offset: number } | undefined {
  const m = /^(.*)\/([a-zA-Z0-9._-]+)\/(\d+)\/(\d+)$/s.exec(value);
  if (m === null) return undefined;
  return { device: m[1]!, topic: m[2]!, partition: Number(m[3]), offset: Number(m[4]) };
}
