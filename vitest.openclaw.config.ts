import { defineConfig } from 'vitest/config';

/** `npm run test:openclaw`: Roost against a real OpenClaw gateway (installed on first run into .cache/). */
export default defineConfig({
  test: {
    include: ['test/openclaw/**/*.e2e.ts'],
    globalSetup: ['test/openclaw/setup.ts'],
    testTimeout: 400_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
