/**
 * A really full filesystem (ENOSPC from a small tmpfs), not just a full budget. The process that
 * hits it must not crash or corrupt anything, must keep serving what it acknowledged, and must
 * refuse further appends at once with a retriable error that says what to do; a restart after
 * freeing space must find every acknowledged record and write again. Needs root for
 * `mount -t tmpfs` (CI runs as root).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestStore } from '../helpers/store.js';
import { recordsOf } from './contract.js';

const CHILD = join(import.meta.dirname, '../../dist/test/helpers/fill-until-full.js');

describe('when the filesystem is full', () => {
  let mountPoint: string;

  beforeEach(() => {
    mountPoint = mkdtempSync(join(tmpdir(), 'weir-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint]);
  });

  afterEach(() => {
    execFileSync('umount', ['-l', mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it('refuses appends retriably, keeps what was acknowledged, and writes again after a restart with space', async () => {
    const dir = join(mountPoint, 'data');
    // Something else on the device takes space that Weir would need later.
    const ballast = join(mountPoint, 'ballast');
    writeFileSync(ballast, Buffer.alloc(512 * 1024));

    const out = execFileSync(process.execPath, [CHILD, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const report = JSON.parse(out.trim()) as {
      acked: number;
      errors: { code: string; retriable: boolean; message: string }[];
      readable: number;
      storageFailure: string;
    };
    expect(report.acked).toBeGreaterThan(1000);
    expect(report.errors.map((e) => [e.code, e.retriable])).toEqual([
      ['STORAGE_ERROR', true],
      ['STORAGE_ERROR', true],
      ['STORAGE_ERROR', true],
    ]);
    expect(report.errors[2]!.message).toMatch(/filesystem .* is full; free space on it, then restart Weir/);
    expect(report.storageFailure).toMatch(/is full/);
    expect(report.readable).toBe(report.acked);

    unlinkSync(ballast);
    const store = await openTestStore(dir);
    try {
      expect(store.offsets('t', 0)).toEqual({ logStartOffset: 0, highWatermark: report.acked, lastStableOffset: report.acked });
      const records = recordsOf(store, 't', 0);
      expect(records).toHaveLength(report.acked);
      records.forEach((r, i) => expect(r.value).toBe(Buffer.alloc(1000, i % 256).toString()));
      const next = await store.appendRecords('t', 0, [{ key: null, value: Buffer.from('after') }]);
      expect(next.baseOffset).toBe(report.acked);
    } finally {
      await store.close();
    }
  });
});
