/**
 * Weir as the systemd unit runs it, for the hostile suite: `weir start` in a child process with
 * the unit's `Environment=` lines (NODE_OPTIONS with its V8 memory flags, MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_, ...),
 * a config file, and the MQTT, Kafka and admin listeners on 127.0.0.1:0. Every log line is read
 * (warnings and errors kept), and the child's RssAnon is sampled from /proc every 100 ms.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { environmentOfUnit } from '../bench/unit-runtime.js';

const WEIR_BIN = fileURLToPath(new URL('../../dist/src/cli/weir.js', import.meta.url));
const UNIT_TEXT = readFileSync(fileURLToPath(new URL('../../systemd/weir.service', import.meta.url)), 'utf8');
const READY_TIMEOUT_MS = 30_000;

/** The unit's `Environment=` assignments: NODE_OPTIONS (V8 flags), the malloc settings, NODE_ENV. */
export const UNIT_ENV: Record<string, string> = Object.fromEntries(environmentOfUnit(UNIT_TEXT));

/** The unit's MemoryHigh= in MB (MiB): where systemd starts throttling and reclaiming Weir. */
export const MEMORY_HIGH_MB = ((): number => {
  const m = /^MemoryHigh=(\d+)([KMG])$/m.exec(UNIT_TEXT);
  if (m === null) throw new Error('systemd/weir.service has no MemoryHigh=<n>[KMG] line');
  return Number(m[1]) * { K: 1 / 1024, M: 1, G: 1024 }[m[2] as 'K' | 'M' | 'G'];
})();

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export class RssWatch {
  /** [time ms, RssAnon MB] every `intervalMs` while the process lives. */
  readonly samples: [number, number][] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(readonly pid: number, intervalMs = 100) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    try {
      const kb = /^RssAnon:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'))?.[1];
      if (kb !== undefined) this.samples.push([Date.now(), Number(kb) / 1024]);
    } catch {
      // the process has gone
    }
  }

  /** Highest RssAnon (MB) sampled at or after `from`. */
  peakSince(from: number): number {
    return this.samples.reduce((peak, [t, mb]) => (t >= from && mb > peak ? mb : peak), 0);
  }

  now(): number {
    this.sample();
    return this.samples.at(-1)?.[1] ?? NaN;
  }

  /** Resolves with the first RssAnon under `mb`, polling every sample; rejects after `withinMs`. */
  async under(mb: number, withinMs: number): Promise<number> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      const now = this.now();
      if (now < mb) return now;
      if (Date.now() > deadline) throw new Error(`RssAnon still ${now.toFixed(1)} MB ${withinMs} ms after the attack (bound ${mb} MB)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export interface HostileWeir {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly kafka: string;
  readonly kafkaPort: number;
  readonly mqttPort: number;
  /** http://127.0.0.1:port of the admin listener. */
  readonly admin: string;
  readonly dataDir: string;
  /** Warnings and above, as logged. */
  readonly warnings: LogLine[];
  /** Count of every log line. */
  readonly lineCount: () => number;
  /** Log lines by message, counted. */
  readonly messages: Map<string, number>;
  readonly rss: RssWatch;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** SIGTERM (a graceful stop), then SIGKILL if it has not exited within 15 s. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const port = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1));

/** Starts Weir on `dataDir` with `config` (merged over the listeners on port 0) in `<dataDir>.yaml`. */
export async function startHostileWeir(dataDir: string, config: Record<string, unknown> = {}): Promise<HostileWeir> {
  const configFile = `${dataDir}.yaml`;
  const base: Record<string, Record<string, unknown>> = {
    store: { dir: dataDir },
    kafka: { listen: '127.0.0.1:0' },
    mqtt: { listen: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0' },
    log: { pretty: false },
  };
  for (const [section, fields] of Object.entries(config)) base[section] = { ...base[section], ...(fields as Record<string, unknown>) };
  // JSON is YAML.
  writeFileSync(configFile, JSON.stringify(base, null, 2));
  const child = spawn(process.execPath, [WEIR_BIN, 'start', '--config', configFile], {
    cwd: join(dataDir, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', ...UNIT_ENV },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-10_000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const warnings: LogLine[] = [];
  const messages = new Map<string, number>();
  let lines = 0;
  let timer: NodeJS.Timeout | undefined;
  const ready = await new Promise<LogLine>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (text) => {
      lines++;
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      if (line.level >= 40) warnings.push(line);
      messages.set(line.msg, (messages.get(line.msg) ?? 0) + 1);
      if (line.msg === 'ready') resolve(line);
    });
    void exited.then(({ code, signal }) => reject(new Error(`weir exited (${code ?? signal}) before it was ready: ${stderr}`)));
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`weir did not log "ready" within ${READY_TIMEOUT_MS / 1000} s: ${stderr}`));
    }, READY_TIMEOUT_MS);
  }).finally(() => clearTimeout(timer));
  const pid = child.pid!;
  const rss = new RssWatch(pid);
  void exited.then(() => rss.stop());
  return {
    child,
    pid,
    kafka: ready['kafka'] as string,
    kafkaPort: port(ready['kafka'] as string),
    mqttPort: port(ready['mqtt'] as string),
    admin: `http://${ready['admin'] as string}`,
    dataDir,
    warnings,
    lineCount: () => lines,
    messages,
    rss,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const result = await exited;
      clearTimeout(killer);
      rss.stop();
      return result;
    },
  };
}

/** GET on the admin listener, with a deadline. */
export async function adminGet(weir: HostileWeir, path: string, timeoutMs = 5_000): Promise<{ status: number; body: string; ms: number }> {
  const began = Date.now();
  const res = await fetch(`${weir.admin}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  const body = await res.text();
  return { status: res.status, body, ms: Date.now() - began };
}
