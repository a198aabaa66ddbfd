/**
 * The `debug` loggers of Weir's MQTT dependencies become plain no-ops unless DEBUG enables them
 * when the process starts. Loaded first by the executable (through embedded-aedes.ts), so it runs
 * before aedes loads.
 *
 * mqtt-packet calls its `debug` loggers at every step of parsing and writing a packet (46 call
 * sites in its parser). A disabled `debug` logger still gathers its arguments into an array and
 * runs a getter before it returns, on every call: at tens of thousands of PUBLISHes a second that
 * was about a fifth of all allocation, hence of young-generation scavenges (BENCHMARKS.md). A
 * function that declares no parameters makes no array. Namespaces that DEBUG names keep the real
 * logger, so `DEBUG=mqtt-packet:* weir start` still traces packets.
 *
 * How: `require.cache` entries may be replaced (Node's modules documentation), so the `debug`
 * module that mqtt-packet resolves is swapped for a factory that hands out the no-op.
 */
import { requireFromMqttPacket } from './mqtt-packet-require.js';

interface DebugLogger {
  (...args: unknown[]): void;
  enabled: boolean;
  namespace: string;
  extend(namespace: string, delimiter?: string): DebugLogger;
}

type CreateDebug = ((namespace: string) => DebugLogger) & Record<string, unknown>;

const debugPath = requireFromMqttPacket.resolve('debug');
const createDebug = requireFromMqttPacket(debugPath) as CreateDebug;
const cached = requireFromMqttPacket.cache[debugPath];

function quietDebug(namespace: string): DebugLogger {
  const logger = createDebug(namespace);
  if (logger.enabled) return logger;
  const noop = function () {} as unknown as DebugLogger;
  noop.enabled = false;
  noop.namespace = namespace;
  noop.extend = (child: string, delimiter = ':') => quietDebug(`${namespace}${delimiter}${child}`);
  return noop;
}

if (cached !== undefined) cached.exports = Object.assign(quietDebug, createDebug);
