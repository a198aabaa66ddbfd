/**
 * The speed-ups Weir gives the aedes it embeds by reaching into aedes's dependencies: no-op
 * `debug` loggers for mqtt-packet (quiet-debug.ts), and `bl` reads without a Buffer per read
 * (bl-reads.ts). Each is applied only when the package it patches is installed at the version
 * package.json pins and has the shape it expects; otherwise it is skipped with a log line and the
 * broker runs on the package as shipped.
 *
 * The `weir` executable applies them before it loads anything else (the debug swap must precede
 * mqtt-packet); the MQTT bridge applies them again when it starts, which is a no-op for those
 * already applied and reaches the in-process starts (tests, tools) too. The benchmark's tuned
 * baseline (BENCH_AEDES_TUNED) applies the same set.
 */
import type { Logger } from '../../../src/logger.js';
import { blReads } from './bl-reads.js';
import { installedPackage, type InstalledLookup } from './installed.js';
import { quietDebug } from './quiet-debug.js';
import { applySpeedup, type Speedup, type SpeedupOutcome } from './speedup.js';

export type { SpeedupOutcome } from './speedup.js';

export const MQTT_SPEEDUPS: readonly Speedup[] = [quietDebug, blReads];

/** Applies each speed-up that fits; never throws. */
export function applyMqttSpeedups(installed: InstalledLookup = installedPackage, speedups: readonly Speedup[] = MQTT_SPEEDUPS): SpeedupOutcome[] {
  return speedups.map((speedup) => applySpeedup(speedup, installed));
}

/**
 * One line per skipped speed-up (a warning when the package is not what it was written for, info
 * when it only came too late), then one line naming what is applied and what is not.
 */
export function logSpeedups(outcomes: readonly SpeedupOutcome[], log: Logger): void {
  for (const { name, skipped } of outcomes) {
    if (skipped === undefined) continue;
    const fields = { speedup: name, package: skipped.package, found: skipped.found, expected: skipped.expected, reason: skipped.reason };
    const message = `MQTT speed-up ${name} skipped: ${skipped.package} ${skipped.found} found, ${skipped.expected} expected (${skipped.reason})`;
    if (skipped.kind === 'late') log.info(fields, message);
    else log.warn(fields, message);
  }
  log.info({
    applied: outcomes.filter((o) => o.skipped === undefined).map((o) => o.name),
    skipped: outcomes.filter((o) => o.skipped !== undefined).map((o) => o.name),
  }, 'MQTT speed-ups');
}
