/**
 * The tests run Runway's TypeScript sources, never a build in dist/ that may be older than them: a
 * DAG's `import 'runway'` (or any subpath) reaches the file package.json's `runway-source` condition
 * names, as it does for bin/runway.js, and bin/runway.js started by a test runs the sources too
 * (RUNWAY_FROM_SOURCE, set in each config's `test.env`). test/pack-init.test.ts checks the build.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const { name, exports } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  name: string;
  exports: Record<string, string | Record<string, string>>;
};

export const fromSources = {
  resolve: {
    alias: Object.entries(exports).flatMap(([subpath, target]) => {
      const source = typeof target === 'object' ? target['runway-source'] : undefined;
      if (source === undefined) return [];
      const specifier = subpath === '.' ? name : `${name}/${subpath.slice(2)}`;
      const escaped = specifier.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      return [{ find: new RegExp(`^${escaped}$`), replacement: fileURLToPath(new URL(source, root)) }];
    }),
  },
};
