/**
 * `weir mirror status`: the mirror's figures from the running Weir. The data directory is locked
 * by its one writer while Weir runs, so the figures come from the process itself, over the admin
 * HTTP listener (GET /api/mirror), not from the store.
 */
import type { MirrorStatus } from '../../../bridge/mirror/status.js';
import { loadConfig } from '../../config/load.js';
import { stringValue, type CommandSpec } from '../spec.js';

function ago(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)}m`;
  return `${Math.round(ms / 3_600_000)}h`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function formatMirrorStatus(s: MirrorStatus): string {
  if (s.rules.length === 0) return 'no mirror rules are configured (mirror.rules)\n';
  const out: string[] = [];
  for (const r of s.rules) {
    const state = r.stopped !== null ? 'STOPPED' : r.connected ? `connected for ${ago(s.now - r.since)}` : `NOT connected for ${ago(s.now - r.since)}`;
    out.push(`rule ${r.name} -> ${r.upstream} (${r.bootstrapServers.join(',')}): ${state}; client ${r.client}; acked ${r.acked}, in flight ${r.inFlight}, refused ${r.refused}, dead-lettered ${r.deadLettered}`);
    if (r.stopped !== null) out.push(`  stopped: ${r.stopped}`);
    if (r.delivery === 'exactly-once') out.push(`  exactly-once: ${r.transactions ?? 0} transactions committed`);
    if (r.lastError !== null) out.push(`  last error (${ago(s.now - r.lastError.at)} ago): ${r.lastError.message}`);
    const rows = [['TOPIC', 'PARTITION', 'UPSTREAM TOPIC', 'CURSOR', 'LOG END', 'LAG', 'LAG BYTES', 'OLDEST UNSENT', 'DROPPED']];
    for (const p of r.partitions) {
      rows.push([p.topic, String(p.partition), p.upstreamTopic, String(p.cursor), String(p.logEndOffset), String(p.lagRecords), String(p.lagBytes), ago(p.oldestUnsentAgeMs), String(p.dropped)]);
    }
    out.push(table(rows).replace(/^/gm, '  '));
  }
  return `${out.join('\n')}\n`;
}

export const mirrorStatus: CommandSpec = {
  path: ['mirror', 'status'],
  summary: 'Show the mirror\'s cursors, lag and connection state from the running Weir',
  description: [
    'Asks the running Weir over its admin HTTP listener (GET /api/mirror): per rule, whether the upstream is connected and since when, the last error and the counters; per mirrored partition, the cursor (every offset below it is acknowledged upstream), the log end, the lag in records and bytes, and the age of the oldest record not yet acknowledged.',
  ],
  options: [
    { name: 'admin', type: 'string', placeholder: 'HOST:PORT', doc: 'Admin listener of the running Weir.', defaultDoc: 'admin.listen from --config or WEIR_ADMIN__LISTEN' },
    { name: 'config-file', type: 'string', placeholder: 'FILE', doc: 'Weir\'s YAML config file, for admin.listen.' },
    { name: 'json', type: 'boolean', doc: 'Print the JSON of /api/mirror as it is.' },
  ],
  examples: ['weir mirror status', 'weir mirror status --admin 127.0.0.1:9644 --json'],
  async run(values, ctx) {
    let admin = stringValue(values, 'admin');
    if (admin === undefined) {
      const config = loadConfig({ file: stringValue(values, 'config-file'), env: ctx.env, cwd: ctx.cwd });
      const { host, port } = config.admin.listen;
      admin = `${host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${port}`;
    }
    const url = `http://${admin}/api/mirror`;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    } catch (err) {
      // Weir not running (or elsewhere) is a runtime failure, exit 1 (a WeirError USAGE would make
      // it 2): the command line itself is fine. Same two lines as runCli's errors.
      ctx.stderr.write(
        `weir: cannot reach Weir's admin listener at ${admin} (${(err as Error).message})\n` +
          'Check that Weir is running (systemctl status weir) and that this is its admin.listen; pass --admin HOST:PORT or --config FILE.\n',
      );
      return 1;
    }
    if (res.status === 404) {
      ctx.stdout.write('the mirror is not running: no mirror.upstreams / mirror.rules are configured\n');
      return 0;
    }
    if (!res.ok) {
      ctx.stderr.write(`weir: GET ${url} answered ${res.status}\nThe broker log (journalctl -u weir) says why.\n`);
      return 1;
    }
    const status = (await res.json()) as MirrorStatus;
    ctx.stdout.write(values.json === true ? `${JSON.stringify(status, null, 2)}\n` : formatMirrorStatus(status));
    return 0;
  },
};
