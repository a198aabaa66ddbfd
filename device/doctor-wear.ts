/**
 * `weir doctor`'s flash-wear check. A separate command cannot see how fast Weir writes, so it asks
 * the running Weir's admin listener (GET /api/status, its `wear` figures: the storage write rate
 * over the last hour) and warns when, at that rate, the device would be written more than
 * `device.flash_endurance_tbw` within five years. Without a running Weir it cannot tell, and
 * says so as information, never as a problem.
 */
import { bytesPerDay, ENDURANCE_WARN_YEARS, yearsToEndurance } from '../src/admin/flash-wear.js';
import type { StatusSnapshot } from '../src/admin/status.js';
import type { WeirConfig } from '../src/config/schema.js';
import type { HostPort } from '../src/config/types.js';
import type { CheckResult } from './doctor-check.js';

const NAME = 'flash wear';
const ASK_TIMEOUT_MS = 3000;
/** A window shorter than this says more about start-up than about the load. */
const MIN_WINDOW_SECONDS = 60;

export interface WriteRate {
  /** Seconds the rate covers: since Weir started, at most the last hour. */
  windowSeconds: number;
  writeBytesPerSecond: number;
}

/** A host:port a client can connect to: a wildcard listen address is reached on loopback. */
function reachable({ host, port }: HostPort): string {
  if (host === '0.0.0.0') return `127.0.0.1:${port}`;
  if (host === '::') return `[::1]:${port}`;
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The running Weir's storage write rate, from its admin listener; or why it could not be had. */
async function askWriteRate(admin: HostPort): Promise<WriteRate | string> {
  const url = `http://${reachable(admin)}/api/status`;
  let status: Partial<StatusSnapshot>;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(ASK_TIMEOUT_MS) });
    if (!res.ok) return `${url} answered ${res.status}`;
    status = (await res.json()) as Partial<StatusSnapshot>;
  } catch (err) {
    return `no answer from ${url} (${err instanceof Error ? err.message : String(err)})`;
  }
  if (status.wear === undefined) return `${url} has no write figures (the running Weir is older than this weir doctor)`;
  if (status.wear === null) return 'the running Weir cannot read /proc/self/io (not Linux?)';
  return { windowSeconds: status.wear.windowSeconds, writeBytesPerSecond: status.wear.writeBytesPerSecond };
}

function duration(seconds: number): string {
  return seconds < 120 ? `${Math.round(seconds)} s` : `${Math.round(seconds / 60)} min`;
}

/** Judges a write rate against the rated endurance. */
export function judgeWriteRate(rate: WriteRate, config: WeirConfig): CheckResult {
  const tbw = config.device.flash_endurance_tbw;
  if (rate.windowSeconds < MIN_WINDOW_SECONDS) {
    return { level: 'info', name: NAME, message: `cannot tell yet: Weir started ${duration(rate.windowSeconds)} ago; ask again after a few minutes under the usual load (the check takes the last hour's write rate)` };
  }
  const gbPerDay = bytesPerDay(rate.writeBytesPerSecond) / 1e9;
  const years = yearsToEndurance(rate.writeBytesPerSecond, tbw);
  const head = `Weir writes ${gbPerDay < 0.1 ? gbPerDay.toPrecision(2) : gbPerDay.toFixed(2)} GB/day to storage (the rate of the last ${duration(rate.windowSeconds)})`;
  const endurance = `${tbw} TB (device.flash_endurance_tbw)`;
  if (years >= ENDURANCE_WARN_YEARS) {
    return { level: 'ok', name: NAME, message: `${head}: ${endurance} lasts ${years >= 100 ? 'over 100' : years.toFixed(1)} years at that rate` };
  }
  const { host, port } = config.kafka.listen;
  const alter = config.kafka.enabled
    ? `weir topics alter --bootstrap-server ${reachable({ host, port })} --topic <topic> --config flush.ms=1000`
    : 'weir topics alter --topic <topic> --config flush.ms=1000 with Weir stopped';
  return {
    level: 'warn',
    name: NAME,
    message: `${head}: at that rate ${endurance} is written in ${years < 1 ? `${Math.round(years * 365.25)} days` : `${years.toFixed(1)} years`}, less than ${ENDURANCE_WARN_YEARS} years`,
    fix: `Write less often: raise flush.ms on the busiest topics (the status page shows each topic's records/s): ${alter} (more if it is 1000 already; topics MQTT ingest creates get mqtt.created_topic_flush_ms), or lower the publish rate. If the card is rated for more than ${tbw} TB written, set device.flash_endurance_tbw to its rating.`,
  };
}

export async function checkFlashWear(config: WeirConfig, weirRunning: boolean): Promise<CheckResult> {
  const cannot = (why: string): CheckResult => ({ level: 'info', name: NAME, message: `cannot tell: ${why}` });
  if (!weirRunning) return cannot("Weir is not running on this data dir, and the check takes the running Weir's write rate");
  if (!config.admin.enabled) return cannot('admin.enabled is false, and the running Weir tells its write rate over the admin listener');
  if (config.admin.listen.port === 0) return cannot('admin.listen has port 0, so the running Weir\'s admin listener cannot be found');
  const rate = await askWriteRate(config.admin.listen);
  return typeof rate === 'string' ? cannot(rate) : judgeWriteRate(rate, config);
}
