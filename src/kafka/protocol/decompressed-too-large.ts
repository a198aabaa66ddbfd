import { WeirError } from '../../errors.js';

/** What lz4, snappy and zstd throw when their output would pass the caller's `maxBytes`. */
export function decompressedTooLarge(codec: 'lz4' | 'snappy' | 'zstd', size: number, maxBytes: number): WeirError {
  return new WeirError('MESSAGE_TOO_LARGE', `${codec}: decompressed size ${size} exceeds the limit of ${maxBytes} bytes`, {
    details: { size, maxBytes },
  });
}
