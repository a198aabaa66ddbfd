/** 32-bit processes map the log in chunks, decided by Weir, not by lmdb-js's guess (see lmdb-env.ts). */
import { describe, expect, it } from 'vitest';
import { needsRemapChunks } from '../../src/store/lmdb-env.js';

describe('needsRemapChunks', () => {
  it('is true on every 32-bit architecture Node runs on, armv7l (`arm`) first', () => {
    for (const arch of ['arm', 'ia32', 'mips', 'mipsel', 'ppc', 's390']) expect(needsRemapChunks(arch), arch).toBe(true);
  });

  it('is false on 64-bit architectures', () => {
    for (const arch of ['arm64', 'x64', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el']) expect(needsRemapChunks(arch), arch).toBe(false);
  });
});
