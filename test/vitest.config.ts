import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The config lives in test/ (the top level holds only the folders the README's Architecture lists); paths are from the checkout root.
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/**/*.test.ts'],
    // The field suites run alone, by `npm run test:field` (vitest.field.config.ts).
    exclude: [...configDefaults.exclude, 'test/artifacts/**', 'test/hostile/**', 'test/powercut/**', 'test/memory/**', 'test/crash/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
