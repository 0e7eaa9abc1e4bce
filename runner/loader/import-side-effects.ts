/**
 * What a DAG file leaves running once its import has returned: timers, sockets, file requests and
 * child processes it started. The import child waits for them to end (the settle period) so that an
 * error they throw is blamed on the file that started them, and does not reuse a process where any
 * is left, or where the file started a process at all.
 */
import { createHook } from 'node:async_hooks';
import { createRequire, syncBuiltinESMExports } from 'node:module';

const require = createRequire(import.meta.url);

/** The ways to start a process, wrapped once so that a file's use of any of them is seen. */
const SPAWNERS = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const;

const UNTRACKED = new Set(['PROMISE', 'MESSAGEPORT']);

export class ImportSideEffects {
  /** Async resources created while a file was in hand and not destroyed yet: id -> type. */
  private readonly live = new Map<number, string>();
  private ignoring = false;
  private readonly hook = createHook({
    init: (asyncId, type) => {
      // A pending promise keeps nothing alive and cannot fire by itself. Message ports are the module
      // loader's own (each import talks to the hooks thread through some), released a while later.
      if (!this.ignoring && !UNTRACKED.has(type)) this.live.set(asyncId, type);
    },
    destroy: (asyncId) => {
      this.live.delete(asyncId);
    },
  });
  /** A file called one of `child_process`'s functions since `begin()`. */
  spawned = false;

  constructor() {
    const childProcess = require('node:child_process') as Record<string, unknown> & {
      ChildProcess: { prototype: { spawn: (...args: unknown[]) => unknown } };
    };
    const mark = () => (this.spawned = true);
    for (const name of SPAWNERS) {
      const original = childProcess[name] as (...args: unknown[]) => unknown;
      const wrapped = function (this: unknown, ...args: unknown[]) {
        mark();
        return original.apply(this, args);
      };
      // Keep util.promisify.custom and friends, so that promisify(exec) still resolves { stdout, stderr }.
      for (const key of Reflect.ownKeys(original)) {
        if (key === 'length' || key === 'name' || key === 'prototype') continue;
        Reflect.defineProperty(wrapped, key, Reflect.getOwnPropertyDescriptor(original, key)!);
      }
      childProcess[name] = wrapped;
    }
    const spawnMethod = childProcess.ChildProcess.prototype.spawn;
    childProcess.ChildProcess.prototype.spawn = function (this: unknown, ...args: unknown[]) {
      mark();
      return spawnMethod.apply(this, args);
    };
    syncBuiltinESMExports();
  }

  /** Starts watching for one file. */
  begin(): void {
    this.live.clear();
    this.spawned = false;
    this.hook.enable();
  }

  /** Stops watching; what is still live stays counted. */
  end(): void {
    this.hook.disable();
  }

  /** Types of the resources the file started that are still alive, e.g. `['Timeout', 'TCPWRAP']`. */
  pending(): string[] {
    return [...this.live.values()];
  }

  /** Runs `fn` without counting what it creates: the child's own timers while it waits. */
  untracked<T>(fn: () => T): T {
    this.ignoring = true;
    try {
      return fn();
    } finally {
      this.ignoring = false;
    }
  }

  /**
   * Resolves once nothing the file started is alive, `stop()` says so (an error came), or `settleMs`
   * has passed. Polls: a destroyed resource is reported by Node a moment after it ends.
   */
  async settle(settleMs: number, stop: () => boolean): Promise<void> {
    const deadline = performance.now() + settleMs;
    const tick = () => new Promise<void>((resolve) => this.untracked(() => setImmediate(resolve)));
    const wait = (ms: number) => new Promise<void>((resolve) => this.untracked(() => setTimeout(resolve, ms)));
    // Unhandled rejections are reported after the microtasks of the turn that made them: by the next turn.
    await tick();
    while (!stop() && this.live.size > 0 && performance.now() < deadline) await wait(5);
  }
}
