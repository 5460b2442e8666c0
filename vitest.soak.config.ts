import { defineConfig } from 'vitest/config';

/** `npm run test:soak`: long runs that watch the daemon's resources (not part of `npm test`). */
export default defineConfig({
  test: {
    include: ['test/soak/**/*.soak.ts'],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
