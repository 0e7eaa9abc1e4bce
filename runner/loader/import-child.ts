/**
 * The import child: forked by `load-dags.ts`, it imports DAG files one at a time, on request, and
 * answers with a JSON summary of each DAG or the reason it could not be imported. A file may throw,
 * print without end, call `process.exit` or pollute prototypes; the child contains what it can and
 * reports the rest, and the parent kills it on a hang, a crash or too much output.
 */
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isDag } from '../core/dag.ts';
import { summarizeDag } from '../core/dag-summary.ts';
import { lineOf } from './error-location.ts';
import { explainImportError } from './import-error.ts';
import { readFileSync } from 'node:fs';
import type { ChildMessage, ImportOutcome, ImportRequest } from './import-protocol.ts';

if (process.env.RUNWAY_PRECOMPILED_DIR) {
  register('./precompiled-hooks.mjs', import.meta.url, { data: { dir: process.env.RUNWAY_PRECOMPILED_DIR } });
}

const OUTPUT_LIMIT = Number(process.env.RUNWAY_IMPORT_OUTPUT_LIMIT ?? 1_048_576);
const OUTPUT_KEPT = 2_048;

const send = (message: ChildMessage) => process.send?.(message);

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
const realExit = process.exit.bind(process);
let exitCalled = false;
process.exit = ((code?: number) => {
  exitCalled = true;
  throw new ExitAtImportError(code);
}) as typeof process.exit;

// An error thrown later by a timer a file started has no file to blame but the one in hand.
let currentFile: string | undefined;
const crash = (error: unknown) => {
  if (currentFile !== undefined) {
    const outcome: ImportOutcome = { ok: false, message: `failed after import: ${describe(error)}` };
    send({ type: 'result', file: currentFile, importMs: 0, outcome, output: printed.head, tainted: true });
  }
  realExit(70);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

/**
 * Built-ins a DAG file must not change: what the runner, the SDKs and every other DAG rely on. A
 * key added, removed or redefined (`Array.prototype.includes = …`) taints this child.
 */
const guarded: object[] = [
  ...[Object, Array, Function, String, Number, Boolean, Symbol, Promise, Map, Set, RegExp, Date, Error].flatMap(
    (constructor) => [constructor, constructor.prototype as object],
  ),
  JSON,
  Math,
  Reflect,
];
const describeOwn = (target: object) =>
  Reflect.ownKeys(target).map((key) => {
    const d = Reflect.getOwnPropertyDescriptor(target, key)!;
    return [key, d.value, d.get, d.set] as const;
  });
const snapshot = () => guarded.map(describeOwn);
const baseline = snapshot();
const builtInsChanged = () =>
  snapshot().some(
    (now, i) =>
      now.length !== baseline[i]!.length ||
      now.some(([key, value, get, set], j) => {
        const [k, v, g, st] = baseline[i]![j]!;
        return key !== k || !Object.is(value, v) || get !== g || set !== st;
      }),
  );

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

process.on('message', (request: ImportRequest) => {
  void (async () => {
    currentFile = request.file;
    printed = { bytes: 0, head: '' };
    exitCalled = false;
    const started = performance.now();
    let outcome = await importOne(request.file);
    const importMs = performance.now() - started;
    const polluted = builtInsChanged();
    if (polluted) {
      outcome = {
        ok: false,
        message: 'changed a built-in prototype or global (Object, Array, JSON, …) at import time',
      };
    }
    if (outcome.ok && printed.bytes > OUTPUT_LIMIT) {
      outcome = { ok: false, message: `printed ${printed.bytes} bytes at import time (limit ${OUTPUT_LIMIT})` };
    }
    const tainted = polluted || exitCalled;
    send({ type: 'result', file: request.file, importMs, outcome, output: printed.head, tainted });
    currentFile = undefined;
  })();
});

// The validator went away (killed, crashed): nobody will read our answers.
process.on('disconnect', () => realExit(0));

send({ type: 'ready' });
