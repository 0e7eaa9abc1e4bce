/** Runway services (`runway worker`, `runway scheduler`) as real child processes, as in production. */
import { spawn, type ChildProcess } from 'node:child_process';
import { loadDagRegistry, type DagRegistry } from '../../runner/loader/dag-registry.ts';
import { Engine } from '../../runner/state/engine.ts';
import { connectRedis } from '../../runner/redis/connect.ts';
import { REPO_ROOT } from './run-cli.ts';
import { redisUrl } from './runway.ts';

export interface Service {
  readonly child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();

export function startService(args: readonly string[], env: NodeJS.ProcessEnv = {}): Service {
  const child = spawn(process.execPath, ['bin/runway.js', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return {
    child,
    exited,
    output: () => out,
    waitFor: (pattern, timeoutMs = 90_000) =>
      until(`${args[0]} to print ${pattern}`, async () => (pattern.test(out) ? true : undefined), timeoutMs).then(
        () => undefined,
      ),
  };
}

/** SIGKILLs every service still running: for afterEach/afterAll. */
export function killAllServices(): void {
  for (const child of running) child.kill('SIGKILL');
}

export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * An engine in the test process over the same DAG folder and key prefix as the services it
 * watches: to trigger runs and read their state. `close` disconnects it.
 */
export async function engineOver(
  dags: string,
  prefix: string,
): Promise<{ engine: Engine; close: () => Promise<void> }> {
  const { registry } = await loadDagRegistry(dags);
  const redis = connectRedis(redisUrl());
  const engine = new Engine({ redis, registry: registry as DagRegistry, prefix, env: {} });
  return {
    engine,
    async close() {
      await engine.close();
      redis.disconnect();
    },
  };
}
