/**
 * What one DAG file could change for the next file imported by the same child: built-in objects,
 * globals, Node's built-in modules, Runway's own exports, `process.env` and `process`. The import
 * child takes a snapshot once it is ready and compares after each file; a child whose snapshot
 * changed is not reused, so no file is judged in a process an earlier file altered.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Built-ins every module relies on: a change here is reported as the file's error. */
const BUILT_INS: [string, object][] = [
  ...[Object, Array, Function, String, Number, Boolean, Symbol, Promise, Map, Set, RegExp, Date, Error].flatMap(
    (constructor): [string, object][] => [
      [constructor.name, constructor],
      [`${constructor.name}.prototype`, constructor.prototype as object],
    ],
  ),
  ['JSON', JSON],
  ['Math', Math],
  ['Reflect', Reflect],
];

/** Built-in modules a DAG file could patch for its neighbours (`fs.readFileSync = …`). */
const BUILT_IN_MODULES = [
  'fs',
  'fs/promises',
  'http',
  'https',
  'net',
  'tls',
  'dns',
  'child_process',
  'crypto',
  'os',
  'path',
  'url',
  'util',
  'events',
  'stream',
  'zlib',
  'module',
  'timers',
  'buffer',
  'worker_threads',
];

type Descriptor = readonly [key: string | symbol, value: unknown, get: unknown, set: unknown];
type Target = readonly [label: string, object: object];

const describeOwn = (target: object): Descriptor[] =>
  Reflect.ownKeys(target).map((key) => {
    const d = Reflect.getOwnPropertyDescriptor(target, key)!;
    return [key, d.value, d.get, d.set] as const;
  });

/** Keys of `target` added, removed or redefined since `before`. */
function changedKeys(before: readonly Descriptor[], target: object): string[] {
  if (unchanged(before, target)) return [];
  const now = new Map(describeOwn(target).map((d) => [d[0], d]));
  const changed: string[] = [];
  for (const [key, value, get, set] of before) {
    const d = now.get(key);
    now.delete(key);
    if (!d || !Object.is(d[1], value) || d[2] !== get || d[3] !== set) changed.push(String(key));
  }
  for (const key of now.keys()) changed.push(String(key));
  return changed;
}

/** The common case, checked after every file: same keys in the same order, same values. */
function unchanged(before: readonly Descriptor[], target: object): boolean {
  const keys = Reflect.ownKeys(target);
  if (keys.length !== before.length) return false;
  for (let i = 0; i < keys.length; i++) {
    const [key, value, get, set] = before[i]!;
    if (keys[i] !== key) return false;
    const d = Reflect.getOwnPropertyDescriptor(target, key)!;
    if (!Object.is(d.value, value) || d.get !== get || d.set !== set) return false;
  }
  return true;
}

export interface SharedStateChanges {
  /** Built-ins, globals, built-in modules and Runway's exports that changed, as `fs.readFileSync`. */
  globals: string[];
  /** Environment variables set, changed or removed. */
  env: string[];
  /** Anything else on `process` (a listener added, a property): not the file's error, but not reusable. */
  other: string[];
}

export interface SharedStateSnapshot {
  changes(): SharedStateChanges;
}

/**
 * Takes the snapshot. `modules` are the namespaces the child preloaded (Runway's entry points):
 * their exports, and each exported object's own keys, are covered too.
 */
export function snapshotSharedState(modules: Record<string, Record<string, unknown>>): SharedStateSnapshot {
  // Some globals are lazy getters that replace themselves on first read: read them all first.
  for (const key of Reflect.ownKeys(globalThis)) {
    try {
      void (globalThis as Record<string | symbol, unknown>)[key];
    } catch {
      // A getter that throws stays what it is.
    }
  }
  const targets: Target[] = [...BUILT_INS, ['globalThis', globalThis]];
  for (const name of BUILT_IN_MODULES) targets.push([name, require(`node:${name}`) as object]);
  for (const [specifier, namespace] of Object.entries(modules)) {
    for (const [name, value] of Object.entries(namespace)) {
      if ((typeof value === 'object' && value !== null) || typeof value === 'function') {
        targets.push([`${specifier}.${name}`, value]);
      }
    }
  }
  const described = targets.map(([label, object]) => [label, object, describeOwn(object)] as const);
  const env = { ...process.env };
  const processKeys = describeOwn(process);
  const listeners = processListeners();
  const exitCode = process.exitCode;
  const cwd = process.cwd();

  return {
    changes() {
      const globals = described.flatMap(([label, object, before]) =>
        changedKeys(before, object).map((key) => (label === 'globalThis' ? key : `${label}.${key}`)),
      );
      if (process.exitCode !== exitCode) globals.push('process.exitCode');
      const envNow = process.env;
      const envChanged = [
        ...Object.keys(env).filter((key) => envNow[key] !== env[key]),
        ...Object.keys(envNow).filter((key) => !(key in env)),
      ];
      const other = changedKeys(processKeys, process)
        .filter((key) => key !== '_events' && key !== '_eventsCount')
        .map((key) => `process.${key}`);
      if (listenersAdded(listeners)) other.push('process listeners');
      if (process.cwd() !== cwd) other.push('process.cwd()');
      return { globals, env: envChanged, other };
    },
  };
}

const processListeners = () => new Map(process.eventNames().map((name) => [name, process.listenerCount(name)]));

/**
 * A listener added to `process` (or one of the child's own removed) would act during the next
 * file. Node drops some of its own once-listeners (`exit`) on its own; those are not a change.
 */
function listenersAdded(before: Map<string | symbol, number>): boolean {
  const now = processListeners();
  for (const [name, count] of now) if (count > (before.get(name) ?? 0)) return true;
  for (const name of ['uncaughtException', 'unhandledRejection']) {
    if ((now.get(name) ?? 0) < (before.get(name) ?? 0)) return true;
  }
  return false;
}
