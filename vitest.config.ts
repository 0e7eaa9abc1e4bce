import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/global-redis.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test.ts'], tsconfig: './tsconfig.json' },
    reporters: ['default', './test/count-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
