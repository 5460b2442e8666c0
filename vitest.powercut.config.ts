import { defineConfig } from 'vitest/config';

/** `npm run test:powercut`: power cuts on a loop-mounted ext4 image (needs root; not part of `npm test`). */
export default defineConfig({
  test: {
    include: ['test/powercut/**/*.powercut.ts'],
    testTimeout: 900_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
