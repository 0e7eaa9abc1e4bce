// Module hooks for import children: serve DAG files from the sources precompile.ts wrote, and
// leave every other module to the hooks registered before (tsx). Plain JavaScript, because it is
// loaded on Node's hooks thread before anything can compile TypeScript for it. Each file module
// loaded is counted in shared memory, so the child knows synchronously whether a DAG file loaded
// a module besides itself (a helper whose state the next file would share).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

let dir;
let sources;
/** Int32Array over a SharedArrayBuffer: [0] counts file: modules loaded. */
let loads;

export function initialize(data) {
  dir = data?.dir;
  loads = data?.loads;
}

// Read on first use: the parent sends the first file only once precompilation has finished.
function precompiled(file) {
  if (sources === undefined) {
    try {
      sources = JSON.parse(readFileSync(join(dir, 'sources.json'), 'utf8'));
    } catch {
      sources = {};
    }
  }
  return Object.hasOwn(sources, file) ? sources[file] : undefined;
}

export async function load(url, context, nextLoad) {
  if (loads && url.startsWith('file:')) Atomics.add(loads, 0, 1);
  if (dir && url.startsWith('file:') && /\.m?ts(\?|$)/.test(url)) {
    const source = precompiled(fileURLToPath(url.split('?')[0]));
    if (source !== undefined) return { format: 'module', source, shortCircuit: true };
  }
  return nextLoad(url, context);
}
