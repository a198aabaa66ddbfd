/**
 * The fixed-header guard sees packets split and merged across TCP chunks at every byte boundary.
 */
import { describe, expect, it } from 'vitest';
import { FrameGuard } from '../../../bridge/mqtt/frame-guard.js';
import { connectPacket, packet, publishPacket } from '../../helpers/mqtt-raw.js';

const stream = Buffer.concat([
  connectPacket('c'),
  publishPacket('t', Buffer.alloc(200), { qos: 1, id: 1 }), // two-byte Remaining Length
  packet(0xc0, Buffer.alloc(0)), // PINGREQ, Remaining Length 0
  publishPacket('t/x', Buffer.alloc(100), { qos: 0 }),
]);

describe('FrameGuard', () => {
  it('accepts a stream of packets under the limit however it is split', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const guard = new FrameGuard(256);
      expect(guard.feed(stream.subarray(0, cut))).toBeUndefined();
      expect(guard.feed(stream.subarray(cut))).toBeUndefined();
    }
    const guard = new FrameGuard(256);
    for (const byte of stream) expect(guard.feed(Buffer.from([byte]))).toBeUndefined();
  });

  it('refuses a packet over the limit at its header, wherever the header is split', () => {
    const big = Buffer.concat([stream, publishPacket('t', Buffer.alloc(300), { qos: 0 })]);
    for (let cut = 0; cut <= big.length; cut++) {
      const guard = new FrameGuard(256);
      const first = guard.feed(big.subarray(0, cut));
      const why = first ?? guard.feed(big.subarray(cut));
      expect(why).toMatch(/exceeds mqtt.max_packet_size/);
    }
  });

  it('refuses a Remaining Length longer than four bytes [MQTT-2.2.3]', () => {
    expect(new FrameGuard(Number.MAX_SAFE_INTEGER).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff]))).toMatch(/malformed/);
  });

  it('accepts the largest four-byte length when the limit allows it', () => {
    expect(new FrameGuard(268_435_455).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]))).toBeUndefined();
  });
});
