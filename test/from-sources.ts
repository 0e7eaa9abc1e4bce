/**
 * The tests run Runway's TypeScript sources, never a build in dist/ that may be older than them: a
 * DAG's `import 'runway'` reaches the sources (as package.json's `runway-source` condition does for
 * bin/runway.js), and bin/runway.js started by a test runs them too (RUNWAY_FROM_SOURCE, set in each
 * config's `test.env`). test/pack-init.test.ts checks the build itself.
 */
import { fileURLToPath } from 'node:url';

const source = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

export const fromSources = {
  resolve: {
    alias: [
      { find: /^runway$/, replacement: source('runner/index.ts') },
      { find: /^runway\/operators$/, replacement: source('operators/index.ts') },
    ],
  },
};
