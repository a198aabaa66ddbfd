/**
 * Runs the built `weir` (dist/src/cli/weir.js, as installed) in a child process. `npm test`
 * builds before vitest runs; running vitest alone needs `npm run build` first.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// From test/cli (vitest) or from dist/test/cli (compiled benchmarks that reuse these helpers).
export const WEIR_BIN = fileURLToPath(new URL(import.meta.url.includes('/dist/test/') ? '../../src/cli/weir.js' : '../../dist/src/cli/weir.js', import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(WEIR_BIN)) throw new Error(`${WEIR_BIN} is missing: run \`npm run build\` (npm test does it for you)`);
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A clean environment: nothing from the developer's shell (no stray WEIR_* or STATE_DIRECTORY). */
export function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...TEST_LISTENERS, ...extra };
}

/** Tests never bind fixed ports: every listener asks the OS for a free one. */
export const TEST_LISTENERS: Record<string, string> = {
  WEIR_ADMIN__LISTEN: '127.0.0.1:0',
  WEIR_MQTT__LISTEN: '127.0.0.1:0',
  WEIR_KAFKA__LISTEN: '127.0.0.1:0',
};

export function spawnWeir(args: string[], options: { cwd: string; env?: Record<string, string> }): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [WEIR_BIN, ...args], { cwd: options.cwd, env: baseEnv(options.env) });
}

export function runWeir(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<RunResult> {
  const child = spawnWeir(args, options);
  return finished(child);
}

export function finished(child: ChildProcessWithoutNullStreams): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Resolves with the first JSON log line on stdout whose msg is `msg` (rejects if the child exits first). */
export function waitForLog(child: ChildProcessWithoutNullStreams, msg: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const onExit = (code: number | null): void => reject(new Error(`weir exited (${code}) before logging "${msg}"; stderr:\n${stderr}`));
    child.once('exit', onExit);
    lines.on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (entry.msg === msg) {
        child.off('exit', onExit);
        lines.close();
        resolve(entry);
      }
    });
  });
}
