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
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
