/**
 * `weir start`'s signal handling, in-process: the first SIGTERM starts the one graceful shutdown,
 * a second one asks the bin entry to exit at once (128 + signal number). Needs src/store.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { start } from '../../src/cli/commands/start.js';
import type { CliContext } from '../../src/cli/spec.js';
import { TEST_LISTENERS } from './helpers.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'weir-start-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

class ExitCalled extends Error {
  constructor(readonly code: number) {
    super(`exit(${code})`);
  }
}

it('a second signal forces exit with 143; the first one still shuts down cleanly', async () => {
  const sink = new Writable({ write: (_chunk, _enc, cb) => cb() });
  const ctx: CliContext = {
    stdout: sink,
    stderr: sink,
    env: { ...TEST_LISTENERS, WEIR_STORE__DIR: path.join(dir, 'data'), WEIR_LOG__LEVEL: 'silent' },
    cwd: dir,
    exit: (code: number): never => {
      throw new ExitCalled(code);
    },
  };
  const running = start.run({}, ctx);

  // Both arrive while Weir is still starting: the first is remembered, the second forces the exit.
  process.emit('SIGTERM');
  let forced: unknown;
  try {
    process.emit('SIGTERM');
  } catch (err) {
    forced = err;
  }
  expect(forced).toBeInstanceOf(ExitCalled);
  expect((forced as ExitCalled).code).toBe(143);

  // In the real bin the process is gone by now; here the first signal's shutdown completes.
  expect(await running).toBe(0);
  expect(process.listeners('SIGTERM')).toHaveLength(0);
  expect(process.listeners('SIGINT')).toHaveLength(0);
  expect(existsSync(path.join(dir, 'data'))).toBe(true);
});
