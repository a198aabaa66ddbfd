/** CPU time of the processes a benchmark starts: whether a client or the broker was the limit. */
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';

/** Runs `cmd` to its exit: wall seconds and its CPU (utime + stime, seconds) from the shell's `times`. */
export function timedWithCpu(cmd: string, args: string[]): Promise<{ seconds: number; cpuSeconds: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('sh', ['-c', '"$@"; s=$?; times >&2; exit $s', 'sh', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('exit', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr}`));
      // `times`: the shell's user/sys, then its children's: "0m1.230s 0m0.450s".
      const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(stderr);
      const cpuSeconds = m === null ? NaN : Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
      resolve({ seconds, cpuSeconds });
    });
  });
}

/** utime + stime of a process, in seconds. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
