/**
 * `npm run test:reliability`: chaos, high availability, Redis restarts and outages, hostile DAG
 * files, bad CLI arguments, secrets and hostile S3 keys. It prints its figures; CI runs it after
 * `npm test`.
 */
import { defineConfig } from 'vitest/config';
import { fromSources } from './test/from-sources.ts';

export default defineConfig({
  ...fromSources,
  test: {
    env: { RUNWAY_FROM_SOURCE: '1' },
    // s3-sync: hostile keys on S3 -> local, and the delete guards.
    include: ['test/reliability/**/*.test.ts', 'test/s3-sync.test.ts'],
    globalSetup: ['./test/global-redis.ts'],
    reporters: ['default', './test/count-reporter.ts'],
    execArgv: ['--openssl-legacy-provider'],
    // The scenarios kill processes and stop Redis: one at a time, so their figures mean something.
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
