/**
 * `weir start` (the built dist/src/cli/weir.js) in a child process, configured as an operator
 * would, through WEIR_* variables: data in `dir`, the Kafka listener on 127.0.0.1:0, MQTT and
 * admin off unless `env` says otherwise. Resolves once the "ready" log line names the Kafka
 * address. Its stdout keeps being read to the end, so logging never blocks it on a full pipe.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Opening the store and binding the listeners takes well under a second; a loaded CI machine gets slack. */
const READY_TIMEOUT_MS = 60_000;

export const WEIR_BIN = fileURLToPath(new URL('../../dist/src/cli/weir.js', import.meta.url));

export interface WeirProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** host:port of the Kafka listener. */
  readonly kafka: string;
  /** host:port of the MQTT listener, when it is on. */
  readonly mqtt: string | null;
  /** The log lines up to and including "ready". */
  readonly startLog: readonly string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startWeirProcess(dir: string, opts: { env?: Record<string, string>; nodeArgs?: string[] } = {}): Promise<WeirProcess> {
  // Resolved from dist/test/helpers too (bench), where this file sits one level deeper.
  const bin = existsSync(WEIR_BIN) ? WEIR_BIN : fileURLToPath(new URL('../../src/cli/weir.js', import.meta.url));
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first (npm test does)`);
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), bin, 'start'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/tmp',
      WEIR_STORE__DIR: dir,
      WEIR_KAFKA__LISTEN: '127.0.0.1:0',
      WEIR_MQTT__ENABLED: 'false',
      WEIR_ADMIN__ENABLED: 'false',
      WEIR_LOG__PRETTY: 'false',
      ...opts.env,
    },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d.slice(0, 10_000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let mqtt: string | null = null;
  const startLog: string[] = [];
  let ready = false;
  let tooLate: NodeJS.Timeout | undefined;
  const kafka = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!ready) startLog.push(line);
      if (!line.includes('"ready"')) return;
      try {
        const entry = JSON.parse(line) as { msg?: string; kafka?: string; mqtt?: string | null };
        if (entry.msg === 'ready' && typeof entry.kafka === 'string') {
          mqtt = entry.mqtt ?? null;
          ready = true;
          resolve(entry.kafka);
        }
      } catch {
        // not a log line
      }
    });
    void exited.then(({ code, signal }) => reject(new Error(`weir exited (${code ?? signal}) before it was ready: ${stderr}`)));
    // A log level above info hides the ready line: fail, rather than wait forever.
    tooLate = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`weir did not log "ready" within ${READY_TIMEOUT_MS / 1000} s (is WEIR_LOG__LEVEL above info?): ${stderr}`));
    }, READY_TIMEOUT_MS);
  }).finally(() => clearTimeout(tooLate));
  return {
    child,
    pid: child.pid!,
    kafka,
    mqtt,
    startLog,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      child.kill(signal);
      return exited;
    },
  };
}
