import { afterEach, describe, expect, it } from 'vitest';
import { dag } from 'runway';
import { z } from 'zod';
import { backfillDag, clearTasks, markTask, OperationError, triggerDag } from '../runner/state/operations.ts';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';

const daily = dag({
  id: 'data_lake__daily_ops',
  description: 'Daily DAG for trigger, backfill, clear and mark tests.',
  owner: 'data-platform',
  tags: ['data-lake'],
  schedule: '0 0 * * *',
  timezone: 'UTC',
  startDate: '2026-01-01',
  params: z.object({ table: z.string(), limit: z.number().int().default(10) }),
})
  .task('extract', {}, async (ctx) => ({ table: ctx.params.table, limit: ctx.params.limit }))
  .task('load', { upstream: ['extract'] }, async (ctx) => {
    if (ctx.env.FAIL_LOAD === '1') throw new Error('warehouse down');
    return ctx.upstream.extract.table;
  });

let runway: TestRunway;
afterEach(async () => runway?.close());

describe('trigger', () => {
  it('validates conf against the params schema, typed defaults applied in the task', async () => {
    runway = testRunway([daily]);
    runway.worker();
    const run = await triggerDag(runway.engine, 'data_lake__daily_ops', {
      conf: { table: 'orders' },
      logicalDate: new Date('2026-02-01T00:00:00Z'),
    });
    expect(run).toMatchObject({ runId: 'manual__2026-02-01T00:00:00.000Z', runType: 'manual', state: 'running' });
    expect((await runway.waitForRun('data_lake__daily_ops', run.runId)).state).toBe('success');
    expect(await runway.engine.store.outputs('data_lake__daily_ops', run.runId, ['extract'])).toEqual({
      extract: { table: 'orders', limit: 10 },
    });
  });

  it('creates no run when conf is invalid, and says which field is wrong', async () => {
    runway = testRunway([daily]);
    await expect(triggerDag(runway.engine, 'data_lake__daily_ops', { conf: { table: 42 } })).rejects.toThrow(
      'DAG "data_lake__daily_ops": --conf field "table": Invalid input: expected string, received number; no run was created',
    );
    await expect(triggerDag(runway.engine, 'nope__nope')).rejects.toBeInstanceOf(OperationError);
    expect(await runway.engine.store.listRuns('data_lake__daily_ops')).toEqual([]);
  });
});

describe('backfill', () => {
  it('creates one run per interval, never a second for an interval that has one, and reprocesses failed runs', async () => {
    runway = testRunway([daily]);
    const loaded = runway.engine.loaded('data_lake__daily_ops');
    await runway.engine.createRun(loaded, {
      runId: 'scheduled__2026-01-02T00:00:00.000Z',
      runType: 'scheduled',
      start: new Date('2026-01-02T00:00:00Z'),
      end: new Date('2026-01-03T00:00:00Z'),
      conf: { table: 'events' },
    });
    const first = await backfillDag(
      runway.engine,
      'data_lake__daily_ops',
      new Date('2026-01-01'),
      new Date('2026-01-03'),
    );
    expect(first).toEqual({
      created: ['backfill__2026-01-01T00:00:00.000Z', 'backfill__2026-01-03T00:00:00.000Z'],
      cleared: [],
      kept: ['scheduled__2026-01-02T00:00:00.000Z'],
    });
    const again = await backfillDag(
      runway.engine,
      'data_lake__daily_ops',
      new Date('2026-01-01'),
      new Date('2026-01-03'),
    );
    expect(again.created).toEqual([]);
    expect(await runway.engine.store.listRuns('data_lake__daily_ops')).toHaveLength(3);
    await expect(
      backfillDag(runway.engine, 'data_lake__daily_ops', new Date('2026-01-05'), new Date('2026-01-01')),
    ).rejects.toThrow('--from 2026-01-05T00:00:00.000Z is after --to 2026-01-01T00:00:00.000Z');
  });
});

describe('clear and mark', () => {
  it('clears a failed task to run again with a higher try number, and reopens the run', async () => {
    runway = testRunway([daily]);
    (runway.engine.env as Record<string, string>).FAIL_LOAD = '1';
    runway.worker();
    const run = await triggerDag(runway.engine, 'data_lake__daily_ops', { conf: { table: 't' } });
    expect((await runway.waitForRun('data_lake__daily_ops', run.runId)).state).toBe('failed');
    (runway.engine.env as Record<string, string>).FAIL_LOAD = '0';
    expect(await clearTasks(runway.engine, 'data_lake__daily_ops', run.runId, { onlyFailed: true })).toEqual(['load']);
    expect((await runway.waitForRun('data_lake__daily_ops', run.runId)).state).toBe('success');
    const states = await runway.engine.store.snapshot('data_lake__daily_ops', run.runId);
    expect([states.extract?.try, states.load?.try, states.load?.state, states.load?.generation]).toEqual([
      1,
      2,
      'success',
      1,
    ]);
  });

  it('clears a task and everything downstream of it', async () => {
    runway = testRunway([daily]);
    runway.worker();
    const run = await triggerDag(runway.engine, 'data_lake__daily_ops', { conf: { table: 't' } });
    await runway.waitForRun('data_lake__daily_ops', run.runId);
    expect(
      await clearTasks(runway.engine, 'data_lake__daily_ops', run.runId, { task: 'extract', downstream: true }),
    ).toEqual(['extract', 'load']);
    expect((await runway.waitForRun('data_lake__daily_ops', run.runId)).state).toBe('success');
    expect((await runway.engine.store.snapshot('data_lake__daily_ops', run.runId)).load?.try).toBe(2);
  });

  it('clears a group as every task in it, its inner groups included, and nothing around it', async () => {
    const nested = dag({ ...manualDag, id: 'data_lake__nested_clear' })
      .task('extract', {}, async () => 1)
      .group('load', { upstream: ['extract'] }, (g) =>
        g
          .group('tables', {}, (h) => h.task('orders', {}, async () => 'o').task('items', {}, async () => 'i'))
          .task('check', { upstream: ['load.tables'] }, async () => true),
      )
      .task('report', { upstream: ['load'] }, async () => 'done');
    runway = testRunway([nested]);
    runway.worker();
    const run = await triggerDag(runway.engine, 'data_lake__nested_clear');
    await runway.waitForRun('data_lake__nested_clear', run.runId);
    expect(await clearTasks(runway.engine, 'data_lake__nested_clear', run.runId, { task: 'load' })).toEqual([
      'load.tables.orders',
      'load.tables.items',
      'load.check',
    ]);
    expect((await runway.waitForRun('data_lake__nested_clear', run.runId)).state).toBe('success');
    const snapshot = await runway.engine.store.snapshot('data_lake__nested_clear', run.runId);
    expect(Object.fromEntries(Object.entries(snapshot).map(([id, ti]) => [id, ti.try]))).toEqual({
      extract: 1,
      'load.tables.orders': 2,
      'load.tables.items': 2,
      'load.check': 2,
      report: 1,
    });
    expect(await clearTasks(runway.engine, 'data_lake__nested_clear', run.runId, { task: 'load.tables' })).toEqual([
      'load.tables.orders',
      'load.tables.items',
    ]);
  });

  it('starts the dagRunTimeout clock again when a finished run is cleared, so a timed-out run can be rerun', async () => {
    const slowOnce = dag({ ...manualDag, id: 'data_lake__rerun_timeout', dagRunTimeout: '5s' }).task(
      'load',
      {},
      async (ctx) => {
        if (ctx.tryNumber === 1) await new Promise((resolve) => setTimeout(resolve, 30_000));
        return ctx.tryNumber;
      },
    );
    runway = testRunway([slowOnce]);
    runway.worker();
    runway.scheduler({ tickMs: 100 }).start();
    const run = await triggerDag(runway.engine, 'data_lake__rerun_timeout');
    const timedOut = await runway.waitForRun('data_lake__rerun_timeout', run.runId);
    expect(timedOut).toMatchObject({ state: 'failed', timedOutAt: expect.any(String) });
    expect(await clearTasks(runway.engine, 'data_lake__rerun_timeout', run.runId, { task: 'load' })).toEqual(['load']);
    const reopened = await runway.engine.store.getRun('data_lake__rerun_timeout', run.runId);
    expect(Date.parse(reopened!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(timedOut.endedAt!));
    expect(reopened?.timedOutAt).toBeUndefined();
    expect((await runway.waitForRun('data_lake__rerun_timeout', run.runId)).state).toBe('success');
  });

  it('marks a failed task success by hand, and the run follows', async () => {
    runway = testRunway([daily]);
    (runway.engine.env as Record<string, string>).FAIL_LOAD = '1';
    runway.worker();
    const run = await triggerDag(runway.engine, 'data_lake__daily_ops', { conf: { table: 't' } });
    expect((await runway.waitForRun('data_lake__daily_ops', run.runId)).state).toBe('failed');
    await markTask(runway.engine, 'data_lake__daily_ops', run.runId, 'load', 'success');
    expect((await runway.engine.store.getRun('data_lake__daily_ops', run.runId))?.state).toBe('success');
    await expect(markTask(runway.engine, 'data_lake__daily_ops', run.runId, 'nope', 'failed')).rejects.toThrow(
      'has no task "nope"',
    );
    await expect(clearTasks(runway.engine, 'data_lake__daily_ops', run.runId, { task: 'laod' })).rejects.toThrow(
      /^DAG "data_lake__daily_ops" has no task "laod"; its tasks: .*\bload\b/,
    );
  });
});
