/**
 * One `weir start` child shared by the tests of a file, in a temp dir of its own, and a way to
 * run further `weir` commands there as an operator would (a child process each, stdin given).
 * Kept apart from helpers.ts, which the compiled benchmarks import without vitest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startWeirProcess, type WeirProcess } from '../helpers/weir-process.js';
import { assertBuilt, finished, spawnWeir, type RunResult } from './helpers.js';

/** Runs `weir args…` in the fixture's dir with `stdin` as its input, to the end. */
export type Cli = (args: string[], stdin?: string) => Promise<RunResult>;

export interface WeirFixture {
  /** The temp dir: the commands' working directory, removed after the file's tests. */
  readonly dir: string;
  /** The running Weir (from beforeAll on). */
  readonly weir: WeirProcess;
  readonly cli: Cli;
}

/** What `setup` may ask of the start: another data dir (default: the temp dir) and WEIR_* variables. */
export interface WeirStart {
  dataDir?: string;
  env?: Record<string, string>;
}

/**
 * Registers the file's beforeAll/afterAll: a fresh temp dir named `prefix…`, `setup` in it (files
 * Weir needs before it starts, such as users), then `weir start`; after the tests, SIGTERM and the
 * dir removed.
 */
export function weirForFile(prefix: string, setup: (dir: string, cli: Cli) => Promise<WeirStart> = async () => ({})): WeirFixture {
  let dir = '';
  let weir: WeirProcess | undefined;
  const cli: Cli = (args, stdin = '') => {
    const child = spawnWeir(args, { cwd: dir });
    child.stdin.end(stdin);
    return finished(child);
  };
  beforeAll(async () => {
    assertBuilt();
    dir = mkdtempSync(path.join(tmpdir(), prefix));
    const start = await setup(dir, cli);
    weir = await startWeirProcess(start.dataDir ?? dir, start.env === undefined ? {} : { env: start.env });
  }, 30_000);
  afterAll(async () => {
    await weir?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
    get weir() {
      if (weir === undefined) throw new Error('Weir is not started yet: use the fixture inside a test');
      return weir;
    },
    cli,
  };
}
