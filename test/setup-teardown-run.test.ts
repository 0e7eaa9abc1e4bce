/**
 * Task groups and setup/teardown on real `runway worker` processes and Redis: a group's default
 * arguments reach its tasks and a task after the group waits for all of it; a teardown runs
 * whatever happened to the tasks between it and its setup, its own failure leaves the run a
 * success, and clearing a task between them runs the setup and the teardown again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../runner/state/engine.ts';
import { clearTasks, triggerDag } from '../runner/state/operations.ts';
import { redisUrl } from './helpers/runway.ts';
import { REPO_ROOT } from './helpers/run-cli.ts';
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

async function ended(runId: string, after = 0) {
  return until(
    `run ${runId} to end`,
    async () => {
      const run = await engine.store.getRun(DAG, runId);
      const done = run?.state === 'success' || run?.state === 'failed';
      return done && Date.parse(run.endedAt ?? '') >= after ? run : undefined;
    },
    45_000,
  );
}

async function states(runId: string): Promise<Record<string, string>> {
  const snapshot = await engine.store.snapshot(DAG, runId);
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
