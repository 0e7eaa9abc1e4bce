/**
 * A real `runway worker` process is SIGKILLed in the middle of a mapping: the indexes it had
 * finished stay done, the ones it was running run again elsewhere, and the run completes with
 * every index completed exactly once. And one killed while it is still expanding the list: the
 * scheduler's repair makes the indexes it never made.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Scheduler } from '../runner/services/scheduler.ts';
import { markTask, triggerDag } from '../runner/state/operations.ts';
import { redisUrl } from './helpers/runway.ts';
import { REPO_ROOT } from './helpers/run-cli.ts';
import { engineOver, until } from './helpers/services.ts';

const DAGS = 'test/fixtures/mapped-dags';
const DAG_ID = 'data_lake__mapped_crash';
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

function startWorkerProcess(prefix: string, env: Record<string, string>, concurrency = 2): Promise<ChildProcess> {
  const args = ['bin/runway.js', 'worker', '--dags', DAGS, '--redis-url', redisUrl(), '--prefix', prefix];
  const child = spawn(process.execPath, [...args, '--concurrency', String(concurrency)], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('a worker killed in the middle of a mapping', () => {
  it('leaves the finished indexes done and completes the rest, each index once', async () => {
    const prefix = `{mapcrash-${randomUUID().slice(0, 8)}}`;
    const { engine, close } = await engineOver(DAGS, prefix);
    cleanups.push(close);
    const doneFile = join(mkdtempSync(join(tmpdir(), 'runway-mapped-')), 'done.txt');
    const doomed = await startWorkerProcess(prefix, { RUNWAY_TEST_SLOW_MS: '120000', RUNWAY_TEST_DONE_FILE: doneFile });
    const run = await triggerDag(engine, DAG_ID);
    // The doomed worker finishes the fast indexes, then holds two slow ones when it dies.
    await until(
      'indexes 0-2 done and two slow ones running on the doomed worker',
      async () => {
        const s = await engine.store.snapshot(DAG_ID, run.runId);
        const done = [0, 1, 2].every((i) => s[`load_part[${i}]`]?.state === 'success');
        const running = [3, 4, 5].filter((i) => s[`load_part[${i}]`]?.state === 'running').length;
        return done && running === 2 ? true : undefined;
      },
      30_000,
    );
    const survivor = await startWorkerProcess(prefix, { RUNWAY_TEST_SLOW_MS: '0', RUNWAY_TEST_DONE_FILE: doneFile });
    doomed.kill('SIGKILL');

    const ended = await until(
      'the run to finish',
      async () => {
        const r = await engine.store.getRun(DAG_ID, run.runId);
        return r?.state === 'success' || r?.state === 'failed' ? r : undefined;
      },
      60_000,
    );
    expect(ended.state).toBe('success');
    const lines = readFileSync(doneFile, 'utf8').trim().split('\n');
    expect(lines.map((line) => line.split(' ')[0]).sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);
    const outputs = (await engine.store.outputs(
      DAG_ID,
      run.runId,
      [0, 1, 2, 3, 4, 5].map((i) => `load_part[${i}]`),
    )) as Record<string, { part: string; pid: number }>;
    const pids = Object.values(outputs).map((o) => o.pid);
    expect(pids.slice(0, 3)).toEqual([doomed.pid, doomed.pid, doomed.pid]);
    expect(pids.slice(3)).toEqual([survivor.pid, survivor.pid, survivor.pid]);
    const snapshot = await engine.store.snapshot(DAG_ID, run.runId);
    expect([0, 1, 2].map((i) => snapshot[`load_part[${i}]`]?.try)).toEqual([1, 1, 1]);
    expect(snapshot.load_part?.state).toBe('success');
  }, 120_000);

  it('makes the indexes a worker killed while expanding the list never made, and runs each once', async () => {
    const dagId = 'data_lake__mapped_expand_crash';
    const prefix = `{mapexpand-${randomUUID().slice(0, 8)}}`;
    const { engine, close } = await engineOver(DAGS, prefix);
    cleanups.push(close);
    const doneFile = join(mkdtempSync(join(tmpdir(), 'runway-mapped-')), 'done.txt');
    const doomed = await startWorkerProcess(prefix, { RUNWAY_TEST_DIE_IN_INDEX: '1', RUNWAY_TEST_DONE_FILE: doneFile });
    const died = new Promise((resolve) => doomed.once('exit', resolve));
    const run = await triggerDag(engine, dagId);
    await died;
    // It died in the middle of the expansion: the task is expanded, some of its indexes never made.
    const left = await engine.store.snapshot(dagId, run.runId);
    expect(left.copy_key).toMatchObject({ state: 'running', mapLength: 1_000 });
    const made = Object.keys(left).filter((id) => id.startsWith('copy_key[')).length;
    expect(made).toBeGreaterThan(0);
    expect(made).toBeLessThan(1_000);
    // Marked now, its unwritten indexes would never be made and the run would wait for them.
    await expect(markTask(engine, dagId, run.runId, 'copy_key', 'success')).rejects.toThrow(
      new RegExp(`task "copy_key" is still expanding \\(${made} of 1000 indexes written\\)`),
    );

    await startWorkerProcess(prefix, { RUNWAY_TEST_DONE_FILE: doneFile }, 8);
    const scheduler = new Scheduler(engine, { reconcileAfterMs: 0 });
    const ended = await until(
      'the run to finish',
      async () => {
        await scheduler.tick();
        const r = await engine.store.getRun(dagId, run.runId);
        return r?.state === 'success' || r?.state === 'failed' ? r : undefined;
      },
      90_000,
    );
    expect(ended.state).toBe('success');
    const lines = readFileSync(doneFile, 'utf8').trim().split('\n');
    expect(lines.sort()).toEqual(Array.from({ length: 1_000 }, (_, i) => `k${i}`).sort());
    const snapshot = await engine.store.snapshot(dagId, run.runId);
    const indexes = Array.from({ length: 1_000 }, (_, i) => snapshot[`copy_key[${i}]`]?.state);
    expect(indexes.every((state) => state === 'success')).toBe(true);
    expect(snapshot.copy_key?.state).toBe('success');
  }, 150_000);
});
