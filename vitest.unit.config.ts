/**
 * The fast tests the pre-push hook runs: pure logic only, so they need no Redis, S3 or child
 * process and a DAG author's push waits seconds, not minutes. `npm test` runs them too.
 */
import { defineConfig } from 'vitest/config';
import { fromSources } from './test/from-sources.ts';

export default defineConfig({
  ...fromSources,
  test: {
    env: { RUNWAY_FROM_SOURCE: '1' },
    include: [
      'test/dag-checks.test.ts',
      'test/dag-types.test.ts',
      'test/deploy-manifest.test.ts',
      'test/policy.test.ts',
      'test/redshift-sql.test.ts',
      'test/schedule.test.ts',
      'test/trigger-rule.test.ts',
    ],
    typecheck: { enabled: true, include: ['test/dag-types.test.ts'], tsconfig: './tsconfig.json' },
    reporters: ['default', './test/count-reporter.ts'],
  },
});
