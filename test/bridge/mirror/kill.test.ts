/**
 * SIGKILL of the edge Weir while it mirrors, 10 times: records produced to the edge's Kafka
 * listener (acks=all: acknowledged means durable at the edge) keep arriving while the mirror
 * sends them upstream, and the edge dies at a random moment. After the last restart every
 * acknowledged record is upstream, each origin partition in order with no gap; duplicates are the
 * re-sends of a crash's window: `max_in_flight` counts what was sent past the saved cursors.
 */
import { once } from 'node:events';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { assertBuilt, runWeir } from '../../cli/helpers.js';
import { openTestStore, tempDir } from '../../helpers/store.js';
import { caughtUp, checkArrived, mirrorEnv, mirrorStatusAt, startEdgeProcess, startUpstream, waitForStatus, type Upstream } from './helpers.js';

const KILLS = 10;
const MAX_IN_FLIGHT = 500;
let upstream: Upstream;
const edgeDir = tempDir('weir-edge-kill-');

beforeAll(async () => {
  assertBuilt();
  upstream = await startUpstream();
});

afterAll(async () => {
  await upstream.cleanup();
  edgeDir.cleanup();
});

function startEdge(): ReturnType<typeof startEdgeProcess> {
  return startEdgeProcess(edgeDir.dir, mirrorEnv(upstream.proxy.port, { max_in_flight: MAX_IN_FLIGHT, batch_size: 100 }));
}

it(`every acknowledged record reaches the upstream across ${KILLS} SIGKILLs of the edge`, async () => {
  const acked = new Set<string>();
  let seq = 0;
  for (let round = 0; round < KILLS; round++) {
    const edge = await startEdge();
    const kafka = new Kafka({ clientId: 'kill-test', brokers: [edge.kafka], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    let stop = false;
    const writer = (async () => {
      while (!stop) {
        const values = Array.from({ length: 100 }, () => `r${seq++}`);
        try {
          await producer.send({ topic: 'sensors.kill', acks: -1, messages: values.map((v) => ({ key: v, value: v })) });
          for (const v of values) acked.add(v);
        } catch {
          return; // the edge died under us: these were never acknowledged
        }
      }
    })();
    // Let the mirror get going, then kill at a varying moment mid-stream.
    await new Promise((r) => setTimeout(r, 400 + ((round * 137) % 600)));
    const exited = once(edge.child, 'exit');
    edge.child.kill('SIGKILL');
    await exited;
    stop = true;
    await writer;
    await producer.disconnect().catch(() => undefined);
  }
  expect(acked.size).toBeGreaterThan(KILLS * 100);

  // Last start: let it catch up, then stop it cleanly.
  const edge = await startEdge();
  await waitForStatus(() => mirrorStatusAt(edge.admin), caughtUp(2), 60_000);
  // `weir mirror status` reads the same figures from the running process.
  const cli = await runWeir(['mirror', 'status', '--admin', edge.admin], { cwd: edgeDir.dir });
  expect(cli.code).toBe(0);
  expect(cli.stdout).toMatch(/rule r1 -> central \(127\.0\.0\.1:\d+\): connected for .*; client weir; acked/);
  expect(cli.stdout).toMatch(/sensors\.kill\s+0\s+edge\.edge-1\.sensors\.kill\s+(\d+)\s+\1\s+0\s+0\s+-/);
  const exited = once(edge.child, 'exit');
  edge.child.kill('SIGTERM');
  await exited;

  const local = await openTestStore(edgeDir.dir);
  const expected = new Map(local.describeTopic('sensors.kill').partitions.map((p) => [p.partition, p.highWatermark]));
  await local.close();
  const records = await upstream.records('edge.edge-1.sensors.kill');
  const { duplicates } = checkArrived(records, expected);
  const upValues = new Set(records.map((r) => r.value));
  const missing = [...acked].filter((v) => !upValues.has(v));
  expect(missing).toEqual([]);
  console.info(`kill test: ${acked.size} acknowledged, ${records.length} upstream, ${duplicates} duplicates dropped by origin headers`);
  // Each crash resends at most the window: what was sent past the saved cursors.
  expect(duplicates).toBeLessThanOrEqual(KILLS * MAX_IN_FLIGHT);
}, 120_000);
