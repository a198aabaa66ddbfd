import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The field suites: Weir as the systemd unit runs it under hostile clients (test/hostile/), cut
 * off as by a power failure (test/powercut/), compacting millions of keys in bounded memory
 * (test/memory/), and the long SIGKILL loops of the store, the cleaner and idempotent producers
 * (test/crash/). They measure latency and memory of a Weir process, or kill it dozens of times,
 * so they run one file at a time, not beside the rest of the suite on a 2-core machine; they have
 * their own command (`npm run test:field`), which `.ci/run` runs after `npm test`.
 */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/hostile/**/*.test.ts', 'test/powercut/**/*.test.ts', 'test/memory/**/*.test.ts', 'test/crash/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'test/artifacts/**'],
    fileParallelism: false,
  },
});
