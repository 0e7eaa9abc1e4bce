/**
 * Task groups and setup/teardown on real `runway worker` processes and Redis: a group's default
 * arguments reach its tasks and a task after the group waits for all of it; a teardown runs
 * whatever happened to the tasks between it and its setup, its own failure leaves the run a
 * success, and clearing a task between them runs the setup and the teardown again. Clearing a
 * group (`runway tasks clear --task <group>`) reruns its tasks with their setup and teardown; a run
 * past its `dagRunTimeout` still runs its teardown, then fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../runner/state/engine.ts';
import { clearTasks, triggerDag } from '../runner/state/operations.ts';
import { Scheduler } from '../runner/services/scheduler.ts';
import { redisUrl } from './helpers/runway.ts';
import { REPO_ROOT, runCli } from './helpers/run-cli.ts';
import { engineOver, until } from './helpers/services.ts';

const DAGS = 'test/fixtures/setup-teardown-dags';
const DAG = 'data_lake__scratch';
const prefix = `{setup-${randomUUID().slice(0, 8)}}`;
let worker: ChildProcess;
let engine: Engine;
let closeEngine: () => Promise<void>;

function startWorker(): Promise<ChildProcess> {
  const args = ['bin/runway.js', 'worker', '--dags', DAGS, '--redis-url', redisUrl(), '--prefix', prefix];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const read = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('worker started')) resolve(child);
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => reject(new Error(`worker exited ${code} before starting: ${out}`)));
  });
}

beforeAll(async () => {
  ({ engine, close: closeEngine } = await engineOver(DAGS, prefix));
  worker = await startWorker();
}, 180_000);

afterAll(async () => {
  worker?.kill('SIGKILL');
  await closeEngine?.();
});

async function ended(runId: string, after = 0, dagId = DAG) {
  return until(
    `run ${runId} to end`,
    async () => {
      const run = await engine.store.getRun(dagId, runId);
      const done = run?.state === 'success' || run?.state === 'failed';
      return done && Date.parse(run.endedAt ?? '') >= after ? run : undefined;
    },
    45_000,
  );
}

async function states(runId: string, dagId = DAG): Promise<Record<string, string>> {
  const snapshot = await engine.store.snapshot(dagId, runId);
  return Object.fromEntries(Object.entries(snapshot).map(([id, ti]) => [id, ti.state]));
}

describe('task groups on real workers', () => {
  it("retries a group's tasks by the group's default arguments, and starts a task after the group once all its leaves are done", async () => {
    const dagId = 'data_lake__grouped_retry';
    const run = await triggerDag(engine, dagId);
    const done = await until(
      'the grouped run to end',
      async () => {
        const r = await engine.store.getRun(dagId, run.runId);
        return r?.state === 'success' || r?.state === 'failed' ? r : undefined;
      },
      45_000,
    );
    expect(done.state).toBe('success');
    const snapshot = await engine.store.snapshot(dagId, run.runId);
    expect(Object.fromEntries(Object.entries(snapshot).map(([id, ti]) => [id, [ti.state, ti.try]]))).toEqual({
      extract: ['success', 1],
      'load.flaky': ['success', 3],
      'load.strict': ['success', 1],
      report: ['success', 1],
    });
    expect(snapshot.report!.startedAt).toBeGreaterThanOrEqual(snapshot['load.flaky']!.endedAt!);
    expect(snapshot.report!.startedAt).toBeGreaterThanOrEqual(snapshot['load.strict']!.endedAt!);
    expect(await engine.store.outputs(dagId, run.runId, ['report'])).toEqual({ report: { after: 3 } });
  });
});

describe('setup and teardown on real workers', () => {
  it('runs the teardown after a task between them failed, and fails the run', async () => {
    const run = await triggerDag(engine, DAG, { conf: { fail: 'load.merge' } });
    expect((await ended(run.runId)).state).toBe('failed');
    expect(await states(run.runId)).toEqual({
      create_schema: 'success',
      'load.stage': 'success',
      'load.merge': 'failed',
      drop_schema: 'success',
    });
    const { drop_schema } = await engine.store.outputs(DAG, run.runId, ['drop_schema']);
    expect(drop_schema).toEqual({ dropped: expect.stringMatching(/^scratch_/), try: 1 });
  });

  it('leaves the run a success when only the teardown failed', async () => {
    const run = await triggerDag(engine, DAG, { conf: { fail: 'drop_schema' } });
    expect((await ended(run.runId)).state).toBe('success');
    expect(await states(run.runId)).toEqual({
      create_schema: 'success',
      'load.stage': 'success',
      'load.merge': 'success',
      drop_schema: 'failed',
    });
  });

  it('does not run what the setup was for when the setup failed, nor the teardown', async () => {
    const run = await triggerDag(engine, DAG, { conf: { fail: 'create_schema' } });
    expect((await ended(run.runId)).state).toBe('failed');
    expect(await states(run.runId)).toEqual({
      create_schema: 'failed',
      'load.stage': 'upstream_failed',
      'load.merge': 'upstream_failed',
      drop_schema: 'upstream_failed',
    });
  });

  it('runs the setup and the teardown again when a task between them is cleared', async () => {
    const run = await triggerDag(engine, DAG, { conf: { fail: 'load.merge', firstTryOnly: true } });
    expect((await ended(run.runId)).state).toBe('failed');
    const clearedAt = Date.now();
    const cleared = await clearTasks(engine, DAG, run.runId, { task: 'load.merge' });
    expect(cleared.sort()).toEqual(['create_schema', 'drop_schema', 'load.merge']);
    expect((await ended(run.runId, clearedAt)).state).toBe('success');
    const snapshot = await engine.store.snapshot(DAG, run.runId);
    expect(Object.fromEntries(Object.entries(snapshot).map(([id, ti]) => [id, [ti.state, ti.try]]))).toEqual({
      create_schema: ['success', 2],
      'load.stage': ['success', 1],
      'load.merge': ['success', 2],
      drop_schema: ['success', 2],
    });
    const outputs = await engine.store.outputs(DAG, run.runId, ['create_schema', 'load.merge', 'drop_schema']);
    expect(outputs).toMatchObject({ create_schema: { try: 2 }, 'load.merge': { try: 2 }, drop_schema: { try: 2 } });
  });
});

describe('clearing a task group', () => {
  const GROUPS = 'data_lake__scratch_groups';
  const clearCli = (runId: string, ...flags: string[]) =>
    runCli(['tasks', 'clear', GROUPS, runId, ...flags, '--dags', DAGS, '--redis-url', redisUrl(), '--prefix', prefix]);
  const tries = async (runId: string) =>
    Object.fromEntries(
      Object.entries(await engine.store.snapshot(GROUPS, runId)).map(([id, ti]) => [id, [ti.state, ti.try]]),
    );

  it("reruns exactly the group's tasks, with their setup and teardown, and leaves the tasks around it", async () => {
    const run = await triggerDag(engine, GROUPS);
    expect((await ended(run.runId, 0, GROUPS)).state).toBe('success');
    const clearedAt = Date.now();
    const cleared = await clearCli(run.runId, '--task', 'load');
    expect(cleared.stderr).toBe('');
    expect(cleared.code).toBe(0);
    expect(cleared.stdout.trim()).toBe('cleared load.stage, load.merge, create_schema, drop_schema');
    expect((await ended(run.runId, clearedAt, GROUPS)).state).toBe('success');
    expect(await tries(run.runId)).toEqual({
      extract: ['success', 1],
      create_schema: ['success', 2],
      'load.stage': ['success', 2],
      'load.merge': ['success', 2],
      drop_schema: ['success', 2],
      publish: ['success', 1],
    });
  });

  it('with --downstream also reruns what comes after the group, and the failed run succeeds', async () => {
    const run = await triggerDag(engine, GROUPS, { conf: { failMergeOnce: true } });
    expect((await ended(run.runId, 0, GROUPS)).state).toBe('failed');
    expect((await states(run.runId, GROUPS)).publish).toBe('upstream_failed');
    const clearedAt = Date.now();
    const cleared = await clearCli(run.runId, '--task', 'load', '--downstream');
    expect(cleared.code).toBe(0);
    expect(
      cleared.stdout
        .trim()
        .replace(/^cleared /, '')
        .split(', ')
        .sort(),
    ).toEqual(['create_schema', 'drop_schema', 'load.merge', 'load.stage', 'publish'].sort());
    expect((await ended(run.runId, clearedAt, GROUPS)).state).toBe('success');
    expect(await tries(run.runId)).toMatchObject({ extract: ['success', 1], 'load.merge': ['success', 2] });
  });

  it('refuses an id that is neither a task nor a group, naming the DAG, the id and what it has', async () => {
    const run = await triggerDag(engine, GROUPS);
    await ended(run.runId, 0, GROUPS);
    const refused = await clearCli(run.runId, '--task', 'lod');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      'DAG "data_lake__scratch_groups" has no task or task group "lod"; its tasks: extract, create_schema, load.stage, load.merge, drop_schema, publish; its task groups: load',
    );
    expect(Object.values(await tries(run.runId)).every(([state, n]) => state === 'success' && n === 1)).toBe(true);
  });

  it('refuses --map-index with a group, and clears nothing', async () => {
    const run = await triggerDag(engine, GROUPS);
    await ended(run.runId, 0, GROUPS);
    const refused = await clearCli(run.runId, '--task', 'load', '--map-index', '0');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      'DAG "data_lake__scratch_groups": "load" is a task group; --map-index needs a mapped task (one of its tasks)',
    );
    expect(Object.values(await tries(run.runId)).every(([state, n]) => state === 'success' && n === 1)).toBe(true);
  });
});

describe('a run past its dagRunTimeout', () => {
  const TIMED = 'data_lake__scratch_timeout';
  const reached = (runId: string, taskId: string, state: string) =>
    until(
      `${taskId} to be ${state}`,
      async () => ((await states(runId, TIMED))[taskId] === state ? true : undefined),
      45_000,
    );

  /** Runs a scheduler while `work` runs; the scheduler stops with it. */
  async function withScheduler<T>(options: { teardownGraceMs?: number }, work: () => Promise<T>): Promise<T> {
    const scheduler = new Scheduler(engine, { tickMs: 100, ...options });
    scheduler.start();
    try {
      return await work();
    } finally {
      await scheduler.stop();
    }
  }

  it('skips its unfinished tasks, runs the teardown of its setup, then ends failed', async () => {
    const triggered = await triggerDag(engine, TIMED);
    // The scheduler starts once the body runs: the run times out with its setup done and its body running.
    await reached(triggered.runId, 'load.wait', 'running');
    const run = await withScheduler({}, () => ended(triggered.runId, 0, TIMED));
    const snapshot = await engine.store.snapshot(TIMED, run.runId);
    expect(run.state).toBe('failed');
    expect(run.timedOutAt).toEqual(expect.any(String));
    expect(Object.fromEntries(Object.entries(snapshot).map(([id, ti]) => [id, ti.state]))).toEqual({
      create_cluster: 'success',
      'load.wait': 'skipped',
      'load.publish': 'skipped',
      stop_cluster: 'success',
    });
    expect(snapshot['load.wait']!.error).toBe('the run was stopped: dagRunTimeout of 1000 ms exceeded');
    expect(await engine.store.outputs(TIMED, run.runId, ['stop_cluster'])).toEqual({
      stop_cluster: { stopped: 'scratch-cluster' },
    });
    // It ended after its teardown, and the teardown's success did not make it a success.
    expect(Date.parse(run.endedAt!)).toBeGreaterThanOrEqual(snapshot.stop_cluster!.endedAt!);
  });

  it('waits for a teardown still running, and ends failed without it once it outlives the grace', async () => {
    const triggered = await triggerDag(engine, TIMED, { conf: { hangTeardown: true } });
    await reached(triggered.runId, 'load.wait', 'running');
    await withScheduler({}, () => reached(triggered.runId, 'stop_cluster', 'running'));
    expect((await engine.store.getRun(TIMED, triggered.runId))?.state).toBe('running');
    const run = await withScheduler({ teardownGraceMs: 1 }, () => ended(triggered.runId, 0, TIMED));
    expect(run.state).toBe('failed');
    expect((await states(run.runId, TIMED)).stop_cluster).toBe('running');
  });

  it('clearing tasks of a running run that has not timed out keeps its clock, as Airflow does', async () => {
    const { runId } = await triggerDag(engine, TIMED);
    await reached(runId, 'load.wait', 'running');
    const before = (await engine.store.getRun(TIMED, runId))!;
    expect(before.timedOutAt).toBeUndefined();
    await clearTasks(engine, TIMED, runId, { task: 'load.wait' });
    expect((await engine.store.getRun(TIMED, runId))?.startedAt).toBe(before.startedAt);
    // The scheduler times it out on the clock it started with, and the run ends.
    expect((await withScheduler({}, () => ended(runId, 0, TIMED))).state).toBe('failed');
  });

  it('clearing tasks while its teardown still runs starts its clock again: the cleared tasks run, not skipped', async () => {
    const { runId } = await triggerDag(engine, TIMED, { conf: { hangTeardown: true } });
    await reached(runId, 'load.wait', 'running');
    await withScheduler({}, () => reached(runId, 'stop_cluster', 'running'));
    expect(await engine.store.getRun(TIMED, runId)).toMatchObject({ state: 'running', timedOutAt: expect.any(String) });
    const clearedAt = Date.now();
    expect((await clearTasks(engine, TIMED, runId, { task: 'load.wait' })).sort()).toEqual([
      'create_cluster',
      'load.wait',
    ]);
    const restarted = (await engine.store.getRun(TIMED, runId))!;
    expect(restarted.timedOutAt).toBeUndefined();
    expect(Date.parse(restarted.startedAt!)).toBeGreaterThanOrEqual(clearedAt);
    await reached(runId, 'load.wait', 'running');
    // A scheduler times the run out again on its new clock, not on the old mark.
    const again = await withScheduler({}, () =>
      until(
        'the run to time out again',
        async () => {
          const run = await engine.store.getRun(TIMED, runId);
          return run?.timedOutAt ? run : undefined;
        },
        45_000,
      ),
    );
    expect(Date.parse(again.timedOutAt!)).toBeGreaterThanOrEqual(Date.parse(restarted.startedAt!) + 1_000);
    expect((await withScheduler({ teardownGraceMs: 1 }, () => ended(runId, 0, TIMED))).state).toBe('failed');
  });
});
