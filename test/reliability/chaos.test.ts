/**
 * Chaos: 3 `runway worker` processes run 100 DAG runs of 8 tasks (fan-out, fan-in) while a random
 * worker is SIGKILLed every 2-4 s and restarted; a `runway scheduler` process starts and repairs
 * runs. Every run must end in success, each task instance's end recorded once, none left stuck.
 * HA: 3 `runway scheduler` processes catch up 100 past intervals of one DAG: exactly 100 runs.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../runner/state/engine.ts';
import { isRunFinished } from '../../runner/core/model.ts';
import { triggerDag } from '../../runner/state/operations.ts';
import { redisUrl } from '../helpers/runway.ts';
import { engineOver, killAllServices, startService, until, type Service } from '../helpers/services.ts';

const DAGS = 'test/fixtures/reliability-dags';
const closers: (() => Promise<void>)[] = [];
afterEach(() => killAllServices());
afterAll(async () => {
  for (const close of closers) await close();
});

async function engineFor(prefix: string): Promise<Engine> {
  const { engine, close } = await engineOver(DAGS, prefix);
  closers.push(close);
  return engine;
}

const service = (verb: string, prefix: string, extra: string[] = []) =>
  startService([verb, '--dags', DAGS, '--redis-url', redisUrl(), '--prefix', prefix, ...extra]);

describe('chaos', () => {
  it('finishes 100 runs of 8 tasks while workers are SIGKILLed every few seconds', async () => {
    const prefix = `{chaos-${randomUUID().slice(0, 8)}}`;
    const engine = await engineFor(prefix);
    const scheduler = service('scheduler', prefix, ['--tick', '500']);
    const workers: Service[] = [0, 1, 2].map(() => service('worker', prefix, ['--concurrency', '4']));
    await Promise.all([scheduler.waitFor(/scheduler started/), ...workers.map((w) => w.waitFor(/worker started/))]);

    const started = Date.now();
    const runIds: string[] = [];
    for (let i = 0; i < 100; i++) {
      const logicalDate = new Date(Date.UTC(2026, 0, 1) + i * 60_000);
      runIds.push((await triggerDag(engine, 'data_lake__chaos', { logicalDate })).runId);
    }

    let kills = 0;
    let chaos = true;
    const killer = (async () => {
      while (chaos) {
        await new Promise((r) => setTimeout(r, 2_000 + Math.random() * 2_000));
        if (!chaos) break;
        const victim = Math.floor(Math.random() * workers.length);
        workers[victim]!.child.kill('SIGKILL');
        kills++;
        workers[victim] = service('worker', prefix, ['--concurrency', '4']);
      }
    })();

    const finished = async () => {
      const runs = await Promise.all(runIds.map((id) => engine.store.getRun('data_lake__chaos', id)));
      return runs.every((r) => r && isRunFinished(r.state)) ? runs : undefined;
    };
    let runs;
    try {
      runs = await until('every run to finish', finished, 240_000);
    } finally {
      chaos = false;
      await killer;
    }
    const seconds = (Date.now() - started) / 1_000;

    const states = new Map<string, number>();
    let taskSuccesses = 0;
    let countsRight = 0;
    for (const run of runs) {
      states.set(run!.state, (states.get(run!.state) ?? 0) + 1);
      const snapshot = await engine.store.snapshot('data_lake__chaos', run!.runId);
      const instances = Object.values(snapshot);
      taskSuccesses += instances.filter((ti) => ti.state === 'success').length;
      // The run's count of ended task instances: a task recorded twice would push it past 8.
      const progress = await engine.store.progress('data_lake__chaos', run!.runId);
      if (progress.terminal === 8 && progress.total === 8) countsRight++;
    }
    const stuck = (await engine.store.activeRunIds('data_lake__chaos')).length;
    console.log(
      [
        'chaos: 3 worker processes, 100 runs x 8 tasks (fan-out 6, fan-in 1)',
        `  workers SIGKILLed and restarted: ${kills}`,
        `  runs: ${[...states].map(([s, n]) => `${n} ${s}`).join(', ')} in ${seconds.toFixed(1)} s`,
        `  task instances in success: ${taskSuccesses} of 800`,
        `  runs whose ended-task count is exactly 8: ${countsRight} of 100`,
        `  runs left active: ${stuck}`,
      ].join('\n'),
    );
    expect(kills).toBeGreaterThan(0);
    expect(states.get('success')).toBe(100);
    expect(taskSuccesses).toBe(800);
    expect(countsRight).toBe(100);
    expect(stuck).toBe(0);
  }, 300_000);
});

describe('high availability', () => {
  it('has three schedulers create exactly one run for each of 100 intervals', async () => {
    const prefix = `{ha-${randomUUID().slice(0, 8)}}`;
    const engine = await engineFor(prefix);
    const started = Date.now();
    const schedulers = [0, 1, 2].map(() => service('scheduler', prefix, ['--tick', '100']));
    await Promise.all(schedulers.map((s) => s.waitFor(/scheduler started/)));
    service('worker', prefix, ['--concurrency', '8']);
    const runs = await until(
      '100 runs to finish',
      async () => {
        const all = await engine.store.listRuns('data_lake__ha', 1_000);
        return all.length >= 100 && all.every((r) => isRunFinished(r.state)) ? all : undefined;
      },
      120_000,
    );
    // Give a late duplicate every chance to appear (30 more passes of each scheduler) before counting.
    await new Promise((r) => setTimeout(r, 3_000));
    const final = await engine.store.listRuns('data_lake__ha', 1_000);
    const ids = new Set(final.map((r) => r.runId));
    const logicalDates = new Set(final.map((r) => r.logicalDate));
    console.log(
      [
        'high availability: 3 scheduler processes, 100 past minute intervals (catchup)',
        `  runs created: ${final.length} (distinct ids ${ids.size}, distinct logical dates ${logicalDates.size}); ${runs.filter((r) => r.state === 'success').length} succeeded, in ${((Date.now() - started) / 1_000).toFixed(1)} s`,
      ].join('\n'),
    );
    expect(final).toHaveLength(100);
    expect(logicalDates.size).toBe(100);
    expect([...logicalDates].sort()[0]).toMatch(/^2026-01-01T00:00:00(\.000)?Z$/);
    expect([...logicalDates].sort()[99]).toMatch(/^2026-01-01T01:39:00(\.000)?Z$/);
  }, 180_000);
});
