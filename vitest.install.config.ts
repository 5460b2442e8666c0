import { defineConfig } from 'vitest/config';

/** `npm run test:install`: pack the package and install it as a user would, from the npm registry (not part of `npm test`). */
export default defineConfig({
  test: {
    include: ['test/install/**/*.install.ts'],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
