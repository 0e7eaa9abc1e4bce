// `npm run build`: compiles Runway into dist/ for bin/runway.js, the services and the packed package.
// tsc, not esbuild: the sources import each other as `./x.ts`, which tsc rewrites to `./x.js`
// (rewriteRelativeImportExtensions) while it writes the declaration files a DAG repository
// type-checks against, in one tool and one pass. Files tsc does not emit (the module hooks in .mjs,
// the web UI's assets) are copied beside the JavaScript. The stamp carries the time the build
// started: bin/runway.js runs the sources instead of a build older than any of them.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const started = new Date();
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

for (const folder of ['runner', 'operators']) {
  for (const name of readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })) {
    const from = join(root, folder, name);
    if (/\.(ts|md)$/.test(name) || !statSync(from).isFile()) continue;
    const to = join(root, 'dist', folder, name);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
  }
}
const stamp = join(root, 'dist', 'build-stamp');
writeFileSync(stamp, `${started.toISOString()}\n`);
utimesSync(stamp, started, started);
