/**
 * The steps a load generator child shares with the others (mqtt-load.ts, wear-kafka-load.ts):
 * the start handshake with the benchmark that spawned it, and the measured window.
 */
import { createInterface } from 'node:readline';

/**
 * Prints `connected` once the generator's connections are open, then waits for `go` on stdin,
 * so that every generator of a run starts its load at the same moment.
 */
export async function reportConnectedAndWaitForGo(): Promise<void> {
  process.stdout.write('connected\n');
  const stdin = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => stdin.on('line', (l) => l === 'go' && resolve()));
  stdin.close();
  process.stdin.destroy();
}

/**
 * Waits out `warmupMs` (connections settle, the JIT warms up), then measures for `measureMs`
 * with `setMeasuring(true)`, so the generator counts only what happens inside the window.
 * Returns the window's wall seconds and the CPU this process spent per second of it (user +
 * system), which tells whether the generator itself was the limit.
 */
export async function measureWindow(spec: { warmupMs: number; measureMs: number }, setMeasuring: (on: boolean) => void): Promise<{ seconds: number; cpu: number }> {
  await new Promise((resolve) => setTimeout(resolve, spec.warmupMs));
  const cpuStart = process.cpuUsage();
  const t0 = performance.now();
  setMeasuring(true);
  await new Promise((resolve) => setTimeout(resolve, spec.measureMs));
  setMeasuring(false);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  return { seconds, cpu: (cpu.user + cpu.system) / 1e6 / seconds };
}
