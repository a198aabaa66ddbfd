/**
 * One `weir start` (the built dist/, on port 0, in a temp dir) per test file, with a kafkajs admin
 * client to create topics and read group offsets, and kcat to write plain (non-transactional)
 * records: `useWeir()` registers its start and stop with the file's beforeAll/afterAll.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { requireKcat } from '../../helpers/required-tools.js';
import { tempDir } from '../../helpers/store.js';
import { startWeirProcess, type WeirProcess } from '../../helpers/weir-process.js';

const run = promisify(execFile);

export interface TxnWeir {
  readonly weir: WeirProcess;
  readonly bootstrap: string;
  readonly admin: Admin;
  /** Writes `values` to one partition with kcat, acks=-1, outside any transaction. */
  producePlain(topic: string, partition: number, values: string[]): Promise<void>;
}

export function useWeir(prefix: string): () => TxnWeir {
  let started: TxnWeir | undefined;
  const tmp = tempDir(`weir-${prefix}-`);
  beforeAll(async () => {
    requireKcat();
    const weir = await startWeirProcess(tmp.dir);
    const admin = new Kafka({ brokers: [weir.kafka], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    started = {
      weir,
      bootstrap: weir.kafka,
      admin,
      async producePlain(topic, partition, values) {
        const child = run('kcat', ['-b', weir.kafka, '-P', '-t', topic, '-p', String(partition), '-X', 'acks=-1']);
        child.child.stdin!.end(values.join('\n') + '\n');
        await child;
      },
    };
  });
  afterAll(async () => {
    await started?.admin.disconnect();
    await started?.weir.kill('SIGTERM');
    tmp.cleanup();
  });
  return () => {
    if (started === undefined) throw new Error('Weir is not started: useWeir() must be called at the top of the test file');
    return started;
  };
}
