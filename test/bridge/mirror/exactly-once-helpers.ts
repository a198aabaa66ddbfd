/**
 * What the exactly-once mirror tests check upstream: the records as a read_committed consumer
 * (kcat, librdkafka) sees them, and the cursors committed to the cursor topic.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { requireKcat } from '../../helpers/required-tools.js';
import { originOf } from './helpers.js';

const run = promisify(execFile);

export interface CommittedRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/** kcat -C of every partition of `topic` from the beginning to its end under `isolation`. */
export async function readUpstream(bootstrap: string, topic: string, isolation: 'read_committed' | 'read_uncommitted' = 'read_committed'): Promise<CommittedRecord[]> {
  requireKcat();
  const args = ['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-q', '-X', `isolation.level=${isolation}`];
  const { stdout } = await run('kcat', args, { timeout: 60_000, maxBuffer: 512 << 20 });
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const m = JSON.parse(l) as { partition: number; offset: number; key: string | null; payload: string | null; headers?: string[] };
      const headers: Record<string, string> = {};
      for (let i = 0; i + 1 < (m.headers?.length ?? 0); i += 2) headers[m.headers![i]!] = m.headers![i + 1]!;
      return { partition: m.partition, offset: m.offset, key: m.key, value: m.payload, headers };
    })
    .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** The last committed cursor of each (device, rule, topic, partition) in the cursor topic. */
export async function committedCursors(bootstrap: string, cursorTopic = 'weir-mirror-cursors'): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const r of await readUpstream(bootstrap, cursorTopic)) {
    const [device, rule, topic, partition] = JSON.parse(r.key ?? '[]') as [string, string, string, number];
    out.set(`${device}/${rule}/${topic}/${partition}`, (JSON.parse(r.value ?? '{}') as { next: number }).next);
  }
  return out;
}

/**
 * Checks records read upstream against the edge's log: per origin partition, the origin offsets
 * are the edge's record offsets exactly, once each, in order. Throws naming the first difference.
 */
export function checkExactlyOnce(records: CommittedRecord[], edge: Map<number, number[]>, device = 'edge-1'): void {
  const seen = new Map<number, number[]>();
  for (const r of records) {
    const origin = originOf(r);
    if (origin.device !== device) throw new Error(`a record from another device upstream: ${JSON.stringify(r.headers)}`);
    let list = seen.get(origin.partition);
    if (list === undefined) seen.set(origin.partition, (list = []));
    list.push(origin.offset);
  }
  for (const [p, offsets] of edge) {
    const got = seen.get(p) ?? [];
    for (let i = 0; i < Math.max(got.length, offsets.length); i++) {
      if (got[i] !== offsets[i]) throw new Error(`origin partition ${p}: upstream record #${i} has origin offset ${got[i]}, the edge's is ${offsets[i]} (${got.length} upstream, ${offsets.length} at the edge)`);
    }
  }
  for (const p of seen.keys()) if (!edge.has(p)) throw new Error(`origin partition ${p} is upstream but not at the edge`);
}
