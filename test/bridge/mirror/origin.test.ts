import { expect, it } from 'vitest';
import { headersWithOrigin, parseCompactOrigin, recordOrigin } from '../../../bridge/mirror/origin.js';
import type { DecodedRecord } from '../../../src/kafka/protocol/record-batch.js';

const record = (offset: number, headers: DecodedRecord['headers'] = []): DecodedRecord =>
  ({ offset, timestamp: 0, key: Buffer.from('k'), value: Buffer.from('value'), headers }) as DecodedRecord;

it('compact: one weir.origin header after the record\'s own, which reads back even when the device id holds "/"', () => {
  const origin = recordOrigin('site/7/gw', { topic: 'sensors.a-b_c', partition: 12 }, 'compact');
  const { headers, bytes } = headersWithOrigin(record(1234567890123, [{ key: 'app', value: Buffer.from('x') }, { key: 'nil', value: null }]), origin);
  expect(headers).toEqual([{ app: Buffer.from('x') }, { nil: Buffer.alloc(0) }, { 'weir.origin': 'site/7/gw/sensors.a-b_c/12/1234567890123' }]);
  // Record bytes: key, value and the record's own headers; the origin is not counted.
  expect(bytes).toBe(1 + 5 + 3 + 1 + 3);
  expect(parseCompactOrigin('site/7/gw/sensors.a-b_c/12/1234567890123')).toEqual({ device: 'site/7/gw', topic: 'sensors.a-b_c', partition: 12, offset: 1234567890123 });
  expect(parseCompactOrigin('edge-1/sensors/x')).toBeUndefined();
});

it('four: the device, topic, partition and offset headers', () => {
  const { headers } = headersWithOrigin(record(5), recordOrigin('edge-1', { topic: 't', partition: 0 }, 'four'));
  expect(headers).toEqual([
    { 'weir.origin.device': Buffer.from('edge-1') },
    { 'weir.origin.topic': Buffer.from('t') },
    { 'weir.origin.partition': Buffer.from('0') },
    { 'weir.origin.offset': Buffer.from('5') },
  ]);
});

it('none: only the record\'s own headers', () => {
  const { headers, bytes } = headersWithOrigin(record(5, [{ key: 'app', value: Buffer.from('x') }]), recordOrigin('edge-1', { topic: 't', partition: 0 }, 'none'));
  expect(headers).toEqual([{ app: Buffer.from('x') }]);
  expect(bytes).toBe(1 + 5 + 3 + 1);
});
