/**
 * aedes-persistence's own abstract suite (node_modules/aedes-persistence/abstract.js, written
 * for node:test) run inside vitest against the LMDB persistence, over a real store in a temp
 * dir. A thin shim gives each registered case the `t` it expects (t.plan, t.assert.*,
 * t.diagnostic) and checks the plan; the cases themselves are the library's, not copies.
 *
 * The same shim also runs the suite against aedes-persistence's in-memory implementation, so a
 * shim that swallowed failures would show up there.
 */
import assert from 'node:assert';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LmdbPersistence } from '../../../bridge/mqtt/persistence/index.js';
import type { LogStore } from '../../../src/store/types.js';
import { openTestStore, silentLogger, tempDir } from '../../helpers/store.js';

const require = createRequire(import.meta.url);

type CaseFn = (t: PlanContext) => Promise<void>;
type Abstract = (opts: { test: (name: string, fn: CaseFn) => void; persistence: () => unknown; testAsync: boolean }) => void;
const abstractSuite = require('aedes-persistence/abstract.js') as Abstract;
const AsyncMemory = require('aedes-persistence/asyncPersistence.js') as new () => unknown;

/** What node:test's TestContext offers the suite: loose node:assert functions that count toward the plan. */
class PlanContext {
  planned: number | undefined;
  count = 0;
  readonly assert = {
    equal: (a: unknown, b: unknown, m?: string) => this.counted(() => assert.equal(a, b, m)),
    notEqual: (a: unknown, b: unknown, m?: string) => this.counted(() => assert.notEqual(a, b, m)),
    deepEqual: (a: unknown, b: unknown, m?: string) => this.counted(() => assert.deepEqual(a, b, m)),
    ok: (v: unknown, m?: string) => this.counted(() => assert.ok(v, m)),
  };

  plan(n: number): void {
    this.planned = n;
  }

  diagnostic(): void {}

  private counted(check: () => void): void {
    this.count++;
    check();
  }
}

function runAbstract(persistence: () => unknown): void {
  let cases = 0;
  abstractSuite({
    testAsync: true,
    persistence,
    test(name, fn) {
      cases++;
      it(name, async () => {
        const t = new PlanContext();
        await fn(t);
        if (t.planned !== undefined) expect(t.count, `assertions run vs t.plan(${t.planned})`).toBe(t.planned);
      });
    },
  });
  it('registered the whole suite', () => expect(cases).toBeGreaterThanOrEqual(50));
}

describe('aedes-persistence abstract suite: LMDB persistence', () => {
  const dir = tempDir('weir-mqtt-persistence-');
  let store: LogStore;
  let n = 0;
  beforeAll(async () => {
    store = await openTestStore(dir.dir);
  });
  afterAll(async () => {
    await store.close();
    dir.cleanup();
  });
  // Each case gets an empty namespace of the same real LMDB environment.
  runAbstract(() => new LmdbPersistence(store.kv(`abstract-${n++}`), { maxRetained: 10_000, maxPerClient: 10_000, maxTotal: 100_000, maxBytes: 1 << 30 }, silentLogger));
});

describe('aedes-persistence abstract suite: the shim against the in-memory reference', () => {
  runAbstract(() => new AsyncMemory());
});
