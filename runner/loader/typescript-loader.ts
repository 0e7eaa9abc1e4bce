/**
 * Compiled Runway (dist/) starts without a TypeScript loader: most verbs never import a TypeScript
 * file in their own process. The first DAG file that is TypeScript registers tsx, once. From the
 * sources (a checkout's bin/runway.js, the tests) a loader is there already.
 */
const RUNNING_FROM_SOURCES = import.meta.url.endsWith('.ts');
let registered: Promise<void> | undefined;

export function needsTypeScriptLoader(file: string): boolean {
  return !RUNNING_FROM_SOURCES && /\.[mc]?tsx?$/.test(file);
}

export function ensureTypeScriptLoader(file: string): Promise<void> {
  if (!needsTypeScriptLoader(file)) return Promise.resolve();
  registered ??= import('tsx/esm/api').then(({ register }) => void register());
  return registered;
}
