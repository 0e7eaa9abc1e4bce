/**
 * Compiled Runway (dist/) starts without a TypeScript loader: most verbs never import a TypeScript
 * file in their own process, and an import child needs none for a precompiled DAG file that imports
 * only packages. The first file that needs one registers tsx, once. From the sources (a checkout's
 * bin/runway.js, the tests) a loader is there already.
 */
export const RUNNING_FROM_SOURCES = import.meta.url.endsWith('.ts');
const TYPESCRIPT_FILE = /\.[mc]?tsx?$/;
let registered: Promise<boolean> | undefined;

/** Registers tsx unless it is there; true when this call registered it. */
export async function registerTypeScriptLoader(): Promise<boolean> {
  if (RUNNING_FROM_SOURCES) return false;
  if (registered) return registered.then(() => false);
  registered = import('tsx/esm/api').then(({ register }) => (register(), true));
  return registered;
}

/** Before `file` is imported into this process. */
export async function ensureTypeScriptLoader(file: string): Promise<void> {
  if (TYPESCRIPT_FILE.test(file)) await registerTypeScriptLoader();
}
