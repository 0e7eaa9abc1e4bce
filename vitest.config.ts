import { defineConfig } from 'vitest/config';
import { fromSources } from './test/from-sources.ts';

export default defineConfig({
  ...fromSources,
  test: {
    env: { RUNWAY_FROM_SOURCE: '1' },
    include: ['test/**/*.test.ts'],
    // `npm run test:reliability` runs these: minutes of chaos, printed figures.
    exclude: ['test/reliability/**', 'node_modules/**'],
    globalSetup: ['./test/global-redis.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test.ts'], tsconfig: './tsconfig.json' },
    reporters: ['default', './test/count-reporter.ts'],
    // s3rver builds its listing continuation tokens with a cipher Node 17+ only has behind this flag.
    execArgv: ['--openssl-legacy-provider'],
    // Bounds against a hang, not speed checks: a test waits on a state or a signal, and CI may run
    // beside other work on 2 cores (a run beside a second full suite and seven other workloads took
    // tests that start many CLI processes past 30 s).
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
