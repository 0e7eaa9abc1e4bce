#!/usr/bin/env node
// Runs compiled Runway (dist/, written by `npm run build`, which `npm ci` runs as `prepare`): no
// TypeScript loader starts unless a DAG file needs one. In a checkout, the TypeScript sources run
// instead (through tsx) when there is no build, when a source file is newer than it, or when
// RUNWAY_FROM_SOURCE=1 (the tests): a stale build never runs in place of changed sources.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

// On Node 20 the AWS SDK prints a nine-line NodeVersionSupportWarning on every verb that touches AWS.
// The lockfile pins SDK releases that run on 20 and the README gives the Node support plan, so the
// warning only buries what the user asked for. This is the SDK's own switch; a setting of yours wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const root = new URL('../', import.meta.url);
const stamp = new URL('dist/build-stamp', root);

/** The newest modification time of the sources a checkout builds from; 0 where there are none (a package). */
function newestSource() {
  let newest = 0;
  for (const folder of ['runner', 'operators']) {
    // Paths as strings: a URL per file costs several times the stat itself.
    const dir = fileURLToPath(new URL(folder, root));
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
      newest = Math.max(newest, statSync(`${dir}/${name}`).mtimeMs);
    }
  }
  return newest;
}

// An installed package has no sources: it always runs its build.
const fromSources =
  existsSync(new URL('runner/cli/main.ts', root)) &&
  (process.env.RUNWAY_FROM_SOURCE === '1' || !existsSync(stamp) || newestSource() > statSync(stamp).mtimeMs);

let main;
if (fromSources) {
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  // A DAG's `import 'runway'` must reach these same sources, not dist/: package.json's `runway-source` condition.
  register(
    'data:text/javascript,export const resolve = (specifier, context, next) => next(specifier, { ...context, conditions: [...context.conditions, "runway-source"] });',
  );
  ({ main } = await import('../runner/cli/main.ts'));
} else {
  ({ main } = await import('../dist/runner/cli/main.js'));
}
const argv = process.argv.slice(2);
const code = await main(argv);
// A service has closed what it opened, in order, by the time main returns: a handle a library left
// open must not keep the process (and the terminal) waiting for the forced exit at 30 s.
if (['standalone', 'scheduler', 'worker', 'webserver'].includes(argv[0])) process.exit(code);
process.exitCode = code;
