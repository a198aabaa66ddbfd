import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The field suites: Weir as the systemd unit runs it under hostile clients (test/hostile/), cut
 * off as by a power failure (test/powercut/), and compacting millions of keys in bounded memory
 * (test/memory/). They measure latency and memory of a Weir process,
 * so they run one file at a time, not beside the rest of the suite on a 2-core machine; they have
 * their own command (`npm run test:field`), which `.ci/run` runs after `npm test`.
 */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/hostile/**/*.test.ts', 'test/powercut/**/*.test.ts', 'test/memory/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'test/artifacts/**'],
    fileParallelism: false,
  },
});
