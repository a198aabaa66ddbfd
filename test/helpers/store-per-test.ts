/** A fresh store for each test of a describe block, in its own temp dir, closed and removed after it. */
import { afterEach, beforeEach } from 'vitest';
import type { LogStore, StoreOptions } from '../../src/store/index.js';
import { openTestStore, tempDir } from './store.js';

/** Call inside `describe`; read `.store` inside the tests (a new one each time). */
export function storePerTest(overrides: Partial<StoreOptions> = {}): { readonly store: LogStore } {
  const holder = {} as { store: LogStore; cleanup: () => void };
  beforeEach(async () => {
    const dir = tempDir();
    holder.cleanup = dir.cleanup;
    holder.store = await openTestStore(dir.dir, overrides);
  });
  afterEach(async () => {
    await holder.store.close();
    holder.cleanup();
  });
  return holder;
}
