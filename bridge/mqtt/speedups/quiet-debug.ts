/**
 * Speed-up `quiet-debug`: the `debug` loggers of mqtt-packet become plain no-ops unless DEBUG
 * enables them when the process starts.
 *
 * mqtt-packet calls its `debug` loggers at every step of parsing and writing a packet (46 call
 * sites in its parser). A disabled `debug` logger still gathers its arguments into an array and
 * runs a getter before it returns, on every call: at tens of thousands of PUBLISHes a second that
 * was a large share of all allocation, hence of young-generation scavenges (figures in
 * BENCHMARKS.md, "MQTT bridge"). A function that declares no parameters makes no array. Namespaces
 * that DEBUG names keep the real logger, so `DEBUG=mqtt-packet:* weir start` still traces packets.
 *
 * How: `require.cache` entries may be replaced (Node's modules documentation), so the `debug`
 * module that mqtt-packet resolves is swapped for a factory that hands out the no-op. mqtt-packet
 * makes its loggers when it loads, so the swap must come first: the `weir` executable applies the
 * speed-ups before it loads anything else; a process that loaded mqtt-packet earlier (a test that
 * imports the `mqtt` client, then starts the bridge) keeps the real loggers.
 */
import type { InstalledLookup } from './installed.js';
import { cachedModule } from './installed.js';
import type { Misfit, Speedup } from './speedup.js';

interface DebugLogger {
  (...args: unknown[]): void;
  /** A getter: undefined (not false) while DEBUG is unset. */
  enabled: boolean | undefined;
  namespace: string;
  extend(namespace: string, delimiter?: string): DebugLogger;
}

type CreateDebug = ((namespace: string) => DebugLogger) & Record<string, unknown>;

/** On the swapped-in factory: it is Weir's (a second start in the same process finds it). */
const APPLIED = Symbol.for('weir.mqtt.speedups.quiet-debug');

/** What the disabled logger costs, in its source: the rest parameter that gathers the arguments. */
const GATHERS_ARGUMENTS = /^function debug\(\.\.\.args\)/;

/** Why `createDebug` is not the factory the swap was written for, or undefined when it is. */
export function debugMisfit(createDebug: unknown): Misfit | undefined {
  const shape = (reason: string): Misfit => ({ kind: 'shape', reason });
  if (typeof createDebug !== 'function') return shape(`debug's export is not a logger factory (${typeof createDebug})`);
  if (typeof (createDebug as CreateDebug)['enabled'] !== 'function') return shape('debug has no enabled(namespace)');
  const probe = (createDebug as CreateDebug)('weir:speedup-probe');
  if (typeof probe !== 'function' || !('enabled' in probe) || typeof probe.extend !== 'function') {
    return shape("debug's logger has no enabled flag or extend()");
  }
  if (!GATHERS_ARGUMENTS.test(String(probe))) return shape("debug's logger is not function debug(...args)");
  return undefined;
}

function quieted(createDebug: CreateDebug): CreateDebug {
  function quietDebug(namespace: string): DebugLogger {
    const logger = createDebug(namespace);
    if (logger.enabled) return logger;
    const noop = function () {} as unknown as DebugLogger;
    noop.enabled = false;
    noop.namespace = namespace;
    noop.extend = (child: string, delimiter = ':') => quietDebug(`${namespace}${delimiter}${child}`);
    return noop;
  }
  return Object.assign(quietDebug, createDebug, { [APPLIED]: true });
}

export const quietDebug: Speedup = {
  name: 'quiet-debug',
  // mqtt-packet: the loggers it makes when it loads are the ones replaced.
  requires: [{ name: 'debug', version: '4.4.3' }, { name: 'mqtt-packet', version: '9.0.2' }],
  apply(installed: InstalledLookup): Misfit | undefined {
    const debug = installed('debug');
    const createDebug = debug.load();
    if (typeof createDebug === 'function' && APPLIED in createDebug) return undefined;
    const misfit = debugMisfit(createDebug);
    if (misfit !== undefined) return misfit;
    if (installed('mqtt-packet').loaded()) return { kind: 'late', reason: 'mqtt-packet was loaded before the swap and keeps the loggers it made' };
    const cached = cachedModule(debug.entry);
    if (cached === undefined) return { kind: 'shape', reason: 'debug is not in the CommonJS module cache' };
    cached.exports = quieted(createDebug as CreateDebug);
    return undefined;
  },
};
