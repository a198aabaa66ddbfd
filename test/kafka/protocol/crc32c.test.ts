import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { crc32c, crc32cJs, crc32cUpdate, nativeCrc32c } from '../../../src/kafka/protocol/crc32c.js';
import { isWeirError } from '../../../src/errors.js';

const require = createRequire(import.meta.url);
// kafkajs's table-driven (byte at a time) CRC-32C, an independent implementation.
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (buf: Buffer) => number;

describe('crc32c', () => {
  it('matches the published check values', () => {
    // "123456789" is the standard CRC catalogue check input (CRC-32/ISCSI check = 0xE3069283).
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    // RFC 3720 (iSCSI) appendix B.4 test vectors.
    expect(crc32c(Buffer.alloc(32, 0x00))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe(0x113fdb5c);
    expect(crc32c(Buffer.from('The quick brown fox jumps over the lazy dog'))).toBe(0x22620404);
  });

  it('agrees with kafkajs on random buffers of every length up to 300 and at odd offsets', () => {
    for (let len = 0; len <= 300; len++) {
      const buf = randomBytes(len + 7);
      expect(crc32c(buf, 3, 3 + len)).toBe(kafkajsCrc32c(buf.subarray(3, 3 + len)) >>> 0);
    }
  });

  it('continues a running value', () => {
    const buf = randomBytes(1000);
    expect(crc32cUpdate(crc32c(buf, 0, 333), buf, 333)).toBe(crc32c(buf));
  });

  it('takes ranges of 512 bytes or more to the native CRC (x86-64 Linux ships its binary), which agrees with the JavaScript', () => {
    expect(nativeCrc32c).toBeTypeOf('function');
    for (const len of [511, 512, 513, 1024, 4096 + 3, 100_000]) {
      const buf = randomBytes(len + 10);
      const running = crc32c(buf, 0, 5);
      expect(crc32cUpdate(running, buf, 5, 5 + len)).toBe(crc32cJs(running, buf, 5, 5 + len));
      expect(crc32c(buf, 5, 5 + len)).toBe(kafkajsCrc32c(buf.subarray(5, 5 + len)) >>> 0);
    }
    expect(crc32c(Buffer.alloc(32 * 32, 0xff))).toBe(crc32cJs(0, Buffer.alloc(32 * 32, 0xff), 0, 32 * 32));
  });

  it('rejects ranges outside the buffer', () => {
    expect(() => crc32c(Buffer.alloc(4), 0, 5)).toThrow();
    try {
      crc32c(Buffer.alloc(4), 3, 2);
    } catch (err) {
      expect(isWeirError(err, 'INVALID_ARGUMENT')).toBe(true);
    }
  });
});
