/**
 * Transactions across SIGKILLs of `weir start` (KIP-98: a committed transaction is whole, an
 * aborted or timed-out one invisible, whatever the broker went through). Weir runs on a fixed
 * port and is SIGKILLed KILLS times at random moments and restarted at once, while two
 * transactional producers run transactions back to back (txn-loop.ts): librdkafka through
 * kafka-javascript, one transactional.id for the whole test, and python3-confluent-kafka with a
 * 3 s transaction.timeout.ms, whose process is SIGKILLed with every other kill of Weir, usually
 * with a transaction open, and started again under a new transactional.id, so that nothing but
 * the timeout can end what it left open. After the last restart and once that timeout has passed
 * (Weir looks for timed-out transactions every 10 s, as Kafka does), ListOffsets read_committed
 * must equal read_uncommitted on every partition again (the last stable offset caught up), and
 * read_committed readers (kcat, kafka-javascript) must show every committed transaction whole,
 * none of an aborted or abandoned one, all or nothing of one whose commit was asked but not
 * answered, and nothing else, each value once.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freeFixedPort } from '../../helpers/fixed-port.js';
import { requireKcat } from '../../helpers/required-tools.js';
import { until } from '../../helpers/until.js';
import { tempDir } from '../../helpers/store.js';
import { startWeirProcess, WEIR_BIN, type WeirProcess } from '../../helpers/weir-process.js';
import { latestOffsets, readWithCkjs, readWithKcat } from './readers.js';
import { startCkjsTxnClient, startPythonTxnClient, type PythonTxnClient, type TxnClient } from './txn-clients.js';
import { TxnLoop, type TxnRecord } from './txn-loop.js';

const run = promisify(execFile);
const TOPIC = 'txn-kill';
const PARTITIONS = 3;
const KILLS = 12;
/** The Python producer's transaction.timeout.ms: what it leaves open must be aborted this long after it began. */
const PY_TIMEOUT_MS = 3_000;
/** Weir's check for timed-out transactions runs every 10 s from its start (Kafka's default interval). */
const CATCH_UP_MS = PY_TIMEOUT_MS + 10_000 + 10_000;

let running: WeirProcess | undefined;
afterAll(async () => {
  await running?.kill();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until every loop has ended a transaction since `before` (its counts then). */
async function untilProgress(loops: TxnLoop[], timeoutMs: number): Promise<void> {
  const before = loops.map((l) => l.ended());
  const deadline = Date.now() + timeoutMs;
  while (loops.some((l, i) => l.ended() <= before[i]!)) {
    if (Date.now() > deadline) throw new Error(`no transaction ended in ${timeoutMs} ms: ${loops.map((l) => `${l.txns[0]?.producer}: ${l.errors.slice(-3).join('; ')}`).join(' | ')}`);
    await sleep(20);
  }
}

interface Verdict {
  counts: Record<string, number>;
  problems: string[];
}

/** Every transaction against what read_committed shows: whole, absent, or (unknown) either. */
function judge(txns: TxnRecord[], visible: string[]): Verdict {
  const seen = new Map<string, number>();
  for (const v of visible) seen.set(v, (seen.get(v) ?? 0) + 1);
  const problems: string[] = [];
  const counts: Record<string, number> = {};
  const known = new Set<string>();
  for (const t of txns) {
    counts[t.state] = (counts[t.state] ?? 0) + 1;
    t.values.forEach((v) => known.add(v));
    const present = t.values.filter((v) => seen.has(v)).length;
    const id = `${t.producer} transaction ${t.n} (${t.state}, ${t.values.length} records)`;
    if (t.state === 'committed' && present !== t.values.length) problems.push(`${id}: ${present} visible`);
    if ((t.state === 'aborted' || t.state === 'abandoned') && present > 0) problems.push(`${id}: ${present} visible`);
    if (t.state === 'unknown' && present !== 0 && present !== t.values.length) problems.push(`${id}: ${present} visible, not all or none`);
    if (t.state === 'unknown') counts[present === 0 ? 'unknown, found absent' : 'unknown, found whole'] = (counts[present === 0 ? 'unknown, found absent' : 'unknown, found whole'] ?? 0) + 1;
    if (t.state === 'open' || t.state === 'committing' || t.state === 'aborting') problems.push(`${id}: never ended`);
  }
  for (const [v, n] of seen) {
    if (n > 1) problems.push(`${v} visible ${n} times`);
    if (!known.has(v)) problems.push(`${v} visible, from no transaction`);
  }
  return { counts, problems };
}

describe('transactions across SIGKILLs of weir start', () => {
  it(`every committed transaction whole, every aborted or timed-out one invisible, the LSO caught up, after ${KILLS} kills`, async () => {
    requireKcat();
    const { dir, cleanup } = tempDir('weir-txn-kill-');
    const started = Date.now();
    const loops: TxnLoop[] = [];
    let python: PythonTxnClient | undefined;
    try {
      await run(process.execPath, [WEIR_BIN, 'topics', 'create', '--data-dir', dir, '--topic', TOPIC, '--partitions', String(PARTITIONS)], { timeout: 30_000 });
      const bootstrap = `127.0.0.1:${await freeFixedPort()}`;
      const env = { WEIR_KAFKA__LISTEN: bootstrap };
      running = await startWeirProcess(dir, { env });
      let pyGeneration = 0;
      const rk = new TxnLoop({
        prefix: 'rk', topic: TOPIC, partitions: PARTITIONS, giveUpMs: 60_000, pauseMs: [0, 150],
        reopen: async (): Promise<TxnClient> => {
          const c = await startCkjsTxnClient(bootstrap, 'kill-rk');
          await c.init();
          return c;
        },
      });
      const py = new TxnLoop({
        prefix: 'py', topic: TOPIC, partitions: PARTITIONS, giveUpMs: 60_000, pauseMs: [100, 300],
        reopen: async (): Promise<TxnClient> => {
          python = await startPythonTxnClient(bootstrap, `kill-py-${pyGeneration++}`, PY_TIMEOUT_MS);
          await python.init();
          return python;
        },
      });
      loops.push(rk, py);
      loops.forEach((l) => l.start());
      /** Kills that found the kafka-javascript transaction open (records sent or being sent, no end asked), and the Python process killed with its records delivered, its end not asked. */
      let rkKilledOpen = 0;
      let pyKilledOpen = 0;
      for (let kill = 0; kill < KILLS; kill++) {
        await untilProgress(loops, 30_000);
        await sleep(200 + Math.floor(Math.random() * 600));
        if (rk.current()?.state === 'open') rkKilledOpen++;
        // Every other kill takes the Python producer down too, once it holds an open
        // transaction with its records in the log: only the timeout can end that one.
        if (kill % 2 === 1) {
          await until('the Python producer holds an open transaction', () => py.current()?.state === 'open' && py.current()?.sent === true, 10_000, 5);
          python!.kill();
          pyKilledOpen++;
        }
        const { signal } = await running.kill('SIGKILL');
        expect(signal).toBe('SIGKILL');
        running = await startWeirProcess(dir, { env });
      }
      await untilProgress(loops, 30_000);
      await Promise.all(loops.map((l) => l.stop()));

      // The abandoned transactions time out and are aborted: the last stable offset catches up.
      const waitStarted = Date.now();
      let lso: number[] = [];
      let hw: number[] = [];
      /** The last kill left a Python transaction open: at first the LSO must lag behind. */
      let heldBack: boolean | undefined;
      while (Date.now() - waitStarted < CATCH_UP_MS) {
        [lso, hw] = await Promise.all([latestOffsets(bootstrap, TOPIC, PARTITIONS, 'read_committed'), latestOffsets(bootstrap, TOPIC, PARTITIONS, 'read_uncommitted')]);
        heldBack ??= lso.some((o, p) => o < hw[p]!);
        if (lso.every((o, p) => o === hw[p])) break;
        await sleep(500);
      }
      const caughtUpMs = Date.now() - waitStarted;
      const committedView = await readWithKcat(bootstrap, TOPIC, 'read_committed');
      const ckjsView = await readWithCkjs(bootstrap, TOPIC, PARTITIONS, 'read_committed');
      const uncommittedView = await readWithKcat(bootstrap, TOPIC, 'read_uncommitted');
      const txns = loops.flatMap((l) => l.txns);
      const verdict = judge(txns, committedView.map(([, , v]) => v));
      console.log(
        `transactions kill test: ${KILLS} kills of Weir (${Math.floor(KILLS / 2)} with the Python producer), ${Date.now() - started} ms; ` +
          `LSO = high watermark ${caughtUpMs} ms after the last restart (LSO ${lso.join(',')}, HW ${hw.join(',')})\n` +
          `  transactions: ${Object.entries(verdict.counts).map(([k, n]) => `${k} ${n}`).join(', ')}; ` +
          `records visible read_committed ${committedView.length}, stored ${uncommittedView.length}\n` +
          `  kills that found a transaction open: kafka-javascript ${rkKilledOpen} of ${KILLS}, python (killed with it) ${pyKilledOpen}; ` +
          `clients lost: kafka-javascript ${rk.lostClients}, python ${py.lostClients}; kafka-javascript errors ${rk.errors.length} (last: ${rk.errors.at(-1) ?? 'none'})`,
      );
      expect(heldBack, 'the open transaction of the last kill held the LSO back at first').toBe(true);
      expect(lso, 'LSO (ListOffsets read_committed) vs high watermark').toEqual(hw);
      expect(verdict.problems.slice(0, 10), `${verdict.problems.length} problems`).toEqual([]);
      expect(ckjsView).toEqual(committedView);
      // read_committed is what was stored, less the aborted: the stored records include it.
      const stored = new Set(uncommittedView.map(([p, o]) => `${p}/${o}`));
      expect(committedView.filter(([p, o]) => !stored.has(`${p}/${o}`))).toEqual([]);
      // The abandoned transactions' delivered records are in the log: their timeout had them to
      // abort. (A client killed while sending leaves a transaction abandoned with records never
      // acknowledged: those need not be stored.)
      const storedValues = new Set(uncommittedView.map(([, , v]) => v));
      expect(txns.filter((t) => t.state === 'abandoned' && t.sent && !t.values.every((v) => storedValues.has(v))).map((t) => `py-${t.n}`)).toEqual([]);
      // The kills tested something: both committed and aborted across them, and timed-out transactions to abort.
      expect(verdict.counts['committed'] ?? 0).toBeGreaterThan(KILLS);
      expect(verdict.counts['aborted'] ?? 0).toBeGreaterThan(KILLS / 4);
      expect(pyKilledOpen).toBe(Math.floor(KILLS / 2));
      expect(verdict.counts['abandoned'], 'transactions left open by a killed producer').toBe(pyKilledOpen);
      expect(rkKilledOpen, 'kills that found the kafka-javascript transaction open').toBeGreaterThanOrEqual(KILLS / 4);
      // A broker restart is no reason to fence a healthy producer: the kafka-javascript one kept its client.
      expect(rk.lostClients, `kafka-javascript lost its client: ${rk.errors.slice(-3).join(' | ')}`).toBe(0);
    } finally {
      python?.kill();
      await Promise.all(loops.map((l) => l.stop().catch(() => undefined)));
      await running?.kill('SIGTERM');
      running = undefined;
      cleanup();
    }
  }, 120_000);
});
