/**
 * /healthz and /readyz of a running Weir say when its store cannot write, instead of "ok": here a
 * commit whose flush fails with EIO and a retried write that fails too, so the failure lasts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { CommitPromise } from '../../src/store/lmdb-env.js';
import { startWeir, type RunningWeir } from '../../src/main.js';
import { silentLogger, tempDir } from '../helpers/store.js';

type Writes = { batch(build: () => void): Promise<boolean>; put(key: unknown, value: unknown): Promise<boolean> };

/** Makes the next call of `db[method]` return a write whose commit and flush fail with EIO. */
function failNext(db: Writes, method: 'batch' | 'put'): void {
  const original = db[method] as (...args: unknown[]) => Promise<boolean>;
  (db as unknown as Record<string, unknown>)[method] = function (this: Writes, ...args: unknown[]) {
    (db as unknown as Record<string, unknown>)[method] = original;
    const write = original.apply(this, args) as CommitPromise;
    const failed = write.then(() => {
      throw Object.assign(new Error('EIO: i/o error, fdatasync (injected)'), { code: 'EIO' });
    });
    failed.catch(() => undefined);
    return Object.assign(failed, { flushed: failed });
  };
}

describe('health endpoints after a storage failure', () => {
  let weir: RunningWeir | undefined;
  const tmp = tempDir();

  afterEach(async () => {
    await weir?.shutdown('test over');
    tmp.cleanup();
  });

  it('/healthz and /readyz answer 503 with the failure', async () => {
    const config = loadConfig({
      env: {
        WEIR_STORE__DIR: tmp.dir,
        WEIR_STORE__DISK_BUDGET_BYTES: '1GiB',
        WEIR_ADMIN__LISTEN: '127.0.0.1:0',
        WEIR_KAFKA__ENABLED: 'false',
        WEIR_MQTT__ENABLED: 'false',
      },
      cwd: tmp.dir,
    });
    weir = await startWeir(config, silentLogger);
    const base = `http://127.0.0.1:${weir.adminAddress!.port}`;
    expect(await (await fetch(`${base}/healthz`)).text()).toBe('ok\n');

    await weir.store.createTopic('t');
    const env = (weir.store as unknown as { env: { batches: Writes; meta: Writes } }).env;
    failNext(env.batches, 'batch');
    failNext(env.meta, 'put'); // the write retried after recovery fails too
    await expect(weir.store.appendRecords('t', 0, [{ key: null, value: Buffer.from('x') }])).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
    while (weir.store.stats().storageFailure === undefined) await new Promise((r) => setTimeout(r, 10));

    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.text()).toMatch(/^storage failure: LMDB failed to write to .*EIO.*restart Weir\n$/);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, string> }).checks.store).toMatch(/LMDB failed to write/);
  });
});
