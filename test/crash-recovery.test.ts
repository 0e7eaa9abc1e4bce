/**
 * Workers are real `runway worker` processes; one is SIGKILLed in the middle of a task. The task
 * must run again on another worker within 10 s, and fail with a clear reason once its workers have
 * died more often than allowed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../runner/state/engine.ts';
import { triggerDag } from '../runner/state/operations.ts';
import { Scheduler } from '../runner/services/scheduler.ts';
import { redisUrl } from './helpers/runway.ts';
import { REPO_ROOT } from './helpers/run-cli.ts';
import { engineOver, until } from './helpers/services.ts';

const DAGS = 'test/fixtures/runner-dags';
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

/** `slowMs` is how long the crash DAG's task takes on this worker. */
function startWorkerProcess(prefix: string, extra: string[] = [], slowMs = 3_000): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      'bin/runway.js',
      'worker',
      '--dags',
      DAGS,
      '--redis-url',
      redisUrl(),
      '--prefix',
      prefix,
      '--concurrency',
      '2',
      ...extra,
    ],
    { cwd: REPO_ROOT, env: { ...process.env, RUNWAY_TEST_SLOW_MS: String(slowMs) }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('worker started')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited ${code} before starting: ${out}`)));
  });
}

async function engineFor(prefix: string): Promise<Engine> {
  const { engine, close } = await engineOver(DAGS, prefix);
  cleanups.push(close);
  return engine;
}

/** Waits for the crash DAG's task to be running (again, if `after` is given); returns when it started. */
async function taskRunning(engine: Engine, runId: string, after = 0): Promise<number> {
  return until(
    'the task to run',
    async () => {
      const ti = (await engine.store.snapshot('data_lake__crash', runId)).slow;
      return ti?.state === 'running' && (ti.startedAt ?? 0) > after ? ti.startedAt : undefined;
    },
    20_000,
  );
}

async function runEnded(engine: Engine, runId: string) {
  return until(
    'the run to finish',
    async () => {
      const run = await engine.store.getRun('data_lake__crash', runId);
      return run?.state === 'success' || run?.state === 'failed' ? run : undefined;
    },
    25_000,
  );
}

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('a worker killed mid-task', () => {
  it('has its task run again on another worker within 10 s', async () => {
    const prefix = `{crash-${randomUUID().slice(0, 8)}}`;
    const engine = await engineFor(prefix);
    // Long enough on the doomed worker that it cannot finish before the kill.
    const doomed = await startWorkerProcess(prefix, [], 60_000);
    const run = await triggerDag(engine, 'data_lake__crash');
    await taskRunning(engine, run.runId);
    // The survivor joins once the task is on the doomed worker, so only the crash can move it; the
    // 10 s then measures stall detection, not how long a process takes to start.
    const survivor = await startWorkerProcess(prefix);
    const killedAt = Date.now();
    doomed.kill('SIGKILL');
    const restartedAt = await taskRunning(engine, run.runId, killedAt);
    expect(restartedAt - killedAt).toBeLessThan(10_000);
    expect((await runEnded(engine, run.runId)).state).toBe('success');
    const output = (await engine.store.outputs('data_lake__crash', run.runId, ['slow'])).slow as { pid: number };
    expect(output.pid).toBe(survivor.pid);
  }, 180_000);

  it('fails the task with a clear reason once its workers died more often than allowed', async () => {
    const prefix = `{crash-${randomUUID().slice(0, 8)}}`;
    const engine = await engineFor(prefix);
    const scheduler = new Scheduler(engine, { reconcileAfterMs: 0 });
    const doomed = await startWorkerProcess(prefix, ['--max-stalled', '0', '--lock-duration', '1000']);
    const run = await triggerDag(engine, 'data_lake__crash');
    await taskRunning(engine, run.runId);
    doomed.kill('SIGKILL');
    await startWorkerProcess(prefix, ['--max-stalled', '0', '--lock-duration', '1000']);
    const ti = await until(
      'the task to fail',
      async () => {
        await scheduler.tick();
        const t = (await engine.store.snapshot('data_lake__crash', run.runId)).slow!;
        return t.state === 'failed' ? t : undefined;
      },
      20_000,
    );
    expect(ti.error).toMatch(/^its worker died or stalled more than the allowed number of times/);
    expect((await engine.store.getRun('data_lake__crash', run.runId))?.state).toBe('failed');
  }, 180_000);
});

describe('a worker stopped with SIGTERM', () => {
  it('lets the running task finish, then exits 0', async () => {
    const prefix = `{term-${randomUUID().slice(0, 8)}}`;
    const engine = await engineFor(prefix);
    const worker = await startWorkerProcess(prefix);
    const run = await triggerDag(engine, 'data_lake__crash');
    await taskRunning(engine, run.runId);
    const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect((await engine.store.getRun('data_lake__crash', run.runId))?.state).toBe('success');
    expect((await engine.store.outputs('data_lake__crash', run.runId, ['slow'])).slow).toEqual({ pid: worker.pid });
  }, 120_000);

  it('past the grace period, releases the task to another worker without spending a try', async () => {
    const prefix = `{term-${randomUUID().slice(0, 8)}}`;
    const engine = await engineFor(prefix);
    const worker = await startWorkerProcess(prefix, ['--grace', '1']);
    const run = await triggerDag(engine, 'data_lake__crash');
    await taskRunning(engine, run.runId);
    const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve));
    const termAt = Date.now();
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - termAt).toBeLessThan(2_500);
    const next = await startWorkerProcess(prefix);
    const done = await runEnded(engine, run.runId);
    expect(done.state).toBe('success');
    const ti = (await engine.store.snapshot('data_lake__crash', run.runId)).slow!;
    expect([ti.state, ti.try]).toEqual(['success', 1]);
    expect((await engine.store.outputs('data_lake__crash', run.runId, ['slow'])).slow).toEqual({ pid: next.pid });
  }, 180_000);
});
