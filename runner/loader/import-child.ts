/**
 * The import child: started by `import-slot.ts` through a clean launcher, it imports DAG files one
 * at a time, on request, and answers with a JSON summary of each DAG or the reason it could not be
 * imported. A file may throw now or from a timer, print without end, call `process.exit`, patch
 * built-ins or start processes; the child waits for what the file left running (the settle period),
 * blames what happens meanwhile on that file, and says whether it is still fit for the next file.
 */
import { createRequire, register } from 'node:module';
import { writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDag } from '../core/dag.ts';
import { summarizeDag } from '../core/dag-summary.ts';
import { lineOf } from './error-location.ts';
import { explainImportError } from './import-error.ts';
import { readFileSync } from 'node:fs';
import { stringifyCapped, TooLargeError } from './capped-json.ts';
import { ImportSideEffects } from './import-side-effects.ts';
import {
  ANSWER_FD,
  REQUEST_FD,
  SELF_CONTAINED,
  type ChildMessage,
  type ImportOutcome,
  type ImportRequest,
} from './import-protocol.ts';
import { snapshotSharedState } from './shared-state.ts';
import { registerTypeScriptLoader } from './typescript-loader.ts';

/** file: modules loaded so far, counted by the module hooks on their own thread. */
const moduleLoads = new Int32Array(new SharedArrayBuffer(4));
register('./precompiled-hooks.mjs', import.meta.url, {
  data: { dir: process.env.RUNWAY_PRECOMPILED_DIR, loads: moduleLoads },
});
const commonJsCache = createRequire(import.meta.url).cache;

const OUTPUT_LIMIT = Number(process.env.RUNWAY_IMPORT_OUTPUT_LIMIT ?? 1_048_576);
const SUMMARY_LIMIT = Number(process.env.RUNWAY_SUMMARY_LIMIT ?? 1_048_576);
const SETTLE_MS = Number(process.env.RUNWAY_SETTLE_MS ?? 500);
/**
 * Runway's entry points: loaded before the first DAG file that names one (`runway/operators` pulls
 * in the AWS SDK, half a child's start-up), then covered by the snapshot like the built-ins.
 */
const PRELOAD = (process.env.RUNWAY_PRELOAD ?? '').split(',').filter(Boolean);
const OUTPUT_KEPT = 2_048;
const MESSAGE_KEPT = 4_096;

/** Answers go out with a blocking write: nothing of the file's can run in between. */
const send = (message: ChildMessage) => {
  const bytes = Buffer.from(`${JSON.stringify(message)}\n`);
  for (let offset = 0; offset < bytes.length;) {
    try {
      offset += writeSync(ANSWER_FD, bytes, offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') realExit(71);
    }
  }
};

class ExitAtImportError extends Error {
  constructor(code: unknown) {
    super(
      `called process.exit(${code === undefined ? '' : String(code)}) at import time; a DAG file must only declare its DAG`,
    );
  }
}

// What a file prints is counted and mostly dropped: it is not the validator's output.
let printed = { bytes: 0, head: '' };
for (const stream of [process.stdout, process.stderr]) {
  stream.write = ((chunk: string | Uint8Array) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    printed.bytes += Buffer.byteLength(text);
    if (printed.head.length < OUTPUT_KEPT) printed.head += text.slice(0, OUTPUT_KEPT - printed.head.length);
    return true;
  }) as typeof stream.write;
}
// Signalling another process (its parent, its group) is not declaring a DAG, and the launcher it
// would kill is what the validator watches: refused here, so the verdict does not race the signal.
const realKill = process.kill.bind(process);
process.kill = ((pid: number, signal?: string | number) => {
  if (pid !== process.pid) {
    throw new Error(
      `called process.kill() on another process at import time (${String(signal ?? 'SIGTERM')}); a DAG file must only declare its DAG`,
    );
  }
  return realKill(pid, signal);
}) as typeof process.kill;
const launcherPid = process.ppid;
const realExit = process.exit.bind(process);
let exitCalled = false;
process.exit = ((code?: number) => {
  exitCalled = true;
  throw new ExitAtImportError(code);
}) as typeof process.exit;

// An error thrown by what a file left running (a timer, a rejected promise) belongs to that file:
// the child keeps the file in hand until it has settled. One with no file in hand has no owner.
let late: { error: unknown } | undefined;
let lateArrived: (() => void) | undefined;
let inHand = false;
const onLateError = (error: unknown) => {
  if (!inHand) {
    send({ type: 'stray', message: describe(error).slice(0, MESSAGE_KEPT) });
    realExit(70);
  }
  late ??= { error };
  lateArrived?.();
};
process.on('uncaughtException', onLateError);
process.on('unhandledRejection', onLateError);

const effects = new ImportSideEffects();
const preloaded: Record<string, Record<string, unknown>> = {};
const preload = async (specifier: string) =>
  (preloaded[specifier] = (await import(specifier)) as Record<string, unknown>);
await preload(PRELOAD[0] ?? 'runway');

/**
 * Loads the entry points `file` names that are not loaded yet, and retakes the snapshot: nothing of
 * a file runs in between, and a change an earlier file made would have retired this child already.
 */
async function preloadFor(file: string): Promise<void> {
  let source = '';
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return; // The import will say why.
  }
  const named = PRELOAD.filter((s) => !(s in preloaded) && (source.includes(`'${s}'`) || source.includes(`"${s}"`)));
  if (named.length === 0) return;
  for (const specifier of named) await preload(specifier);
  shared = snapshotSharedState(preloaded);
}
let usable = true;

function describe(error: unknown): string {
  if (!(error instanceof Error)) return `threw a non-error value: ${String(error)}`;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
    return error.message.split('\n')[0]!.replace(/ imported from .*$/, '');
  }
  // esbuild's "Transform failed with 1 error:\n/abs/file.ts:4:2: ERROR: Expected …" as one clean line.
  const syntax = /^Transform failed with \d+ errors?:\n(?:.*?:\d+:\d+: )?(?:ERROR: )?(.*)/.exec(error.message);
  if (syntax) return `syntax error: ${syntax[1]}`;
  return `${error.name}: ${error.message}`;
}

function missingModuleLine(error: unknown, file: string): number | undefined {
  const match = /Cannot find (?:package|module) '([^']+)'/.exec(error instanceof Error ? error.message : '');
  if (!match) return undefined;
  const specifier = match[1]!
    .split('/')
    .pop()!
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  try {
    return lineOf(readFileSync(file, 'utf8'), new RegExp(`from\\s+['"][^'"]*${specifier}`));
  } catch {
    return undefined;
  }
}

async function importOne(file: string): Promise<ImportOutcome> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    const { message, line } = explainImportError(error, file, describe(error), missingModuleLine);
    return { ok: false, message, ...(line === undefined ? {} : { line }) };
  }
  if (!('default' in module)) {
    return { ok: false, message: 'has no default export; a DAG file must `export default dag({...})`' };
  }
  const exported = module.default;
  if (!isDag(exported)) {
    const kind =
      exported === null ? 'null' : Array.isArray(exported) ? 'an array' : `a value of type ${typeof exported}`;
    return { ok: false, message: `its default export is ${kind}, not a DAG built with dag({...})` };
  }
  try {
    return { ok: true, dag: summarizeDag(exported) };
  } catch (error) {
    return { ok: false, message: `could not be read: ${describe(error)}` };
  }
}

/** Precompiled files that import only packages: read once, after precompilation has finished. */
let selfContained: Set<string> | undefined;

/** Starts tsx before a file that may need it, outside the file's accounting. */
async function loaderFor(file: string): Promise<void> {
  if (selfContained === undefined) {
    try {
      const listed = JSON.parse(
        readFileSync(join(process.env.RUNWAY_PRECOMPILED_DIR ?? '', SELF_CONTAINED), 'utf8'),
      ) as unknown;
      selfContained = new Set(Array.isArray(listed) ? listed.map(String) : []);
    } catch {
      selfContained = new Set();
    }
  }
  if (!selfContained.has(file) && (await registerTypeScriptLoader())) shared = snapshotSharedState(preloaded);
}

async function handle(request: ImportRequest): Promise<void> {
  await preloadFor(request.file);
  await loaderFor(request.file);
  printed = { bytes: 0, head: '' };
  exitCalled = false;
  late = undefined;
  const loadsBefore = Atomics.load(moduleLoads, 0);
  const commonJsBefore = Object.keys(commonJsCache).length;
  const lateError = new Promise<'late'>((resolve) => (lateArrived = () => resolve('late')));
  inHand = true;
  effects.begin();
  const started = performance.now();
  let outcome = await Promise.race([importOne(request.file), lateError]).then(
    (o) => (o === 'late' ? undefined : o),
    // A default export that throws on every property read (a Proxy) fails isDag() itself.
    (error: unknown): ImportOutcome => ({ ok: false, message: `could not be read: ${describe(error)}` }),
  );
  const importMs = performance.now() - started;
  await effects.settle(SETTLE_MS, () => late !== undefined);
  effects.end();
  const pending = effects.pending();
  const changes = shared.changes();
  // Set by the error handlers meanwhile, which TypeScript cannot see.
  const failedLate = late as { error: unknown } | undefined;
  if (process.ppid !== launcherPid) {
    outcome = { ok: false, message: 'the process that started it was killed while it was imported' };
  } else if (failedLate) {
    outcome = { ok: false, message: `failed after import: ${describe(failedLate.error)}` };
  } else if (changes.globals.length > 0) {
    outcome = {
      ok: false,
      message: `changed a built-in prototype or global at import time (${listed(changes.globals)}); a DAG file must only declare its DAG`,
    };
  } else if (changes.env.length > 0) {
    outcome = {
      ok: false,
      message: `set environment variables at import time (${listed(changes.env)}); a DAG file must only declare its DAG, and must not read them either`,
    };
  } else if (outcome?.ok && printed.bytes > OUTPUT_LIMIT) {
    outcome = { ok: false, message: `printed ${printed.bytes} bytes at import time (limit ${OUTPUT_LIMIT})` };
  }
  outcome = capped(outcome!);
  const loadedOthers =
    Atomics.load(moduleLoads, 0) - loadsBefore > 1 || Object.keys(commonJsCache).length !== commonJsBefore;
  usable =
    process.ppid === launcherPid &&
    !failedLate &&
    !exitCalled &&
    !effects.spawned &&
    !loadedOthers &&
    pending.length === 0 &&
    changes.globals.length + changes.env.length + changes.other.length === 0;
  const output = printed.head;
  send({ type: 'result', nonce: request.nonce, importMs, outcome, output, reusable: usable, spawned: effects.spawned });
  inHand = false;
  // Not fit for another file: stop reading, and let the validator replace this process.
  if (!usable) requests.pause();
}

const listed = (names: readonly string[]) =>
  names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`;

/** Keeps what crosses to the validator small: a huge message is cut, a huge summary refused. */
function capped(outcome: ImportOutcome): ImportOutcome {
  if (!outcome.ok) return { ...outcome, message: outcome.message.slice(0, MESSAGE_KEPT) };
  try {
    stringifyCapped(outcome.dag, SUMMARY_LIMIT);
    return outcome;
  } catch (error) {
    if (!(error instanceof TooLargeError)) return { ok: false, message: `could not be read: ${describe(error)}` };
    const field = error.field ? ` (field "${error.field}" alone is ${error.fieldLength} characters)` : '';
    return {
      ok: false,
      message: `its DAG is larger than the ${error.limit} bytes a summary may have${field}; a DAG declares its tasks, it does not carry data`,
    };
  }
}

let buffered = '';
const requests = new Socket({ fd: REQUEST_FD, readable: true, writable: false });
let queue = Promise.resolve();
requests.on('data', (chunk: Buffer) => {
  buffered += chunk.toString('utf8');
  for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
    const request = JSON.parse(buffered.slice(0, nl)) as ImportRequest;
    buffered = buffered.slice(nl + 1);
    queue = queue
      .then(() => (usable ? handle(request) : undefined))
      .catch((error: unknown) => {
        usable = false;
        const outcome: ImportOutcome = { ok: false, message: `could not be imported: ${describe(error)}` };
        send({
          type: 'result',
          nonce: request.nonce,
          importMs: 0,
          outcome,
          output: '',
          reusable: false,
          spawned: true,
        });
      });
  }
});
// The validator went away (killed, crashed): nobody will read our answers.
requests.on('end', () => realExit(0));
requests.on('error', () => realExit(0));

// Taken last, once everything of the child's own exists: what differs later is a file's doing.
let shared = snapshotSharedState(preloaded);
send({ type: 'ready', pid: process.pid });
