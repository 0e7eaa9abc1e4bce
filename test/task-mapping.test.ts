/** Mapped tasks run on real Redis and BullMQ workers: one instance per element, per-index state. */
import { afterEach, describe, expect, it } from 'vitest';
import { dag, type Sensor } from 'runway';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';
import { clearTasks, markTask, OperationError } from '../runner/state/operations.ts';
import { dagGrid, taskDetail } from '../runner/web/views.ts';

const base = manualDag;

let runway: TestRunway;
afterEach(async () => runway?.close());

async function states(dagId: string, runId: string) {
  const snapshot = await runway.engine.store.snapshot(dagId, runId);
  return Object.fromEntries(Object.entries(snapshot).map(([id, ti]) => [id, ti.state]));
}

describe('dynamic task mapping', () => {
  it('runs one instance per element and hands the downstream task the outputs in index order', async () => {
    const seen: unknown[] = [];
    const d = dag({ ...base, id: 'data_lake__mapped_run' })
      .task('list_days', {}, async () => ['2026-01-03', '2026-01-01', '2026-01-02', '2026-01-05', '2026-01-04'])
      .expand('count', { over: 'list_days' }, (day, mapIndex) => async (ctx) => {
        // Later indexes finish first: the order downstream must still be the index order.
        await new Promise((r) => setTimeout(r, (5 - mapIndex) * 20));
        ctx.log.info(`counting ${day}`);
        return { day, index: mapIndex };
      })
      .task('report', { upstream: ['count'] }, async (ctx) => {
        seen.push(ctx.upstream.count);
        return ctx.upstream.count.length;
      });
    runway = testRunway([d]);
    runway.worker();
    const run = await runway.trigger('data_lake__mapped_run');
    expect((await runway.waitForRun('data_lake__mapped_run', run.runId)).state).toBe('success');
    expect(seen).toEqual([
      [
        { day: '2026-01-03', index: 0 },
        { day: '2026-01-01', index: 1 },
        { day: '2026-01-02', index: 2 },
        { day: '2026-01-05', index: 3 },
        { day: '2026-01-04', index: 4 },
      ],
    ]);
    expect(await states('data_lake__mapped_run', run.runId)).toEqual({
      list_days: 'success',
      count: 'success',
      'count[0]': 'success',
      'count[1]': 'success',
      'count[2]': 'success',
      'count[3]': 'success',
      'count[4]': 'success',
      report: 'success',
    });
    const log = await runway.engine.store.logs('data_lake__mapped_run', run.runId, 'count[3]', 1);
    expect(log.map((line) => line.replace(/^\S+ /, ''))).toEqual(['INFO counting 2026-01-05']);
    expect(await runway.engine.store.progress('data_lake__mapped_run', run.runId)).toEqual({ terminal: 8, total: 8 });
  });

  it('gives an index its element, and the whole list in ctx.upstream only when its task lists `over` in upstream', async () => {
    const seen: Record<string, unknown[]> = { alone: [], withList: [] };
    const d = dag({ ...base, id: 'data_lake__mapped_upstream' })
      .task('list_files', {}, async () => ['a.json', 'b.json'])
      .expand('alone', { over: 'list_files' }, (file) => async (ctx) => {
        seen.alone!.push([file, Object.keys(ctx.upstream)]);
        return file;
      })
      .expand('with_list', { over: 'list_files', upstream: ['list_files'] }, (file) => async (ctx) => {
        seen.withList!.push([file, ctx.upstream.list_files]);
        return file;
      });
    runway = testRunway([d]);
    runway.worker();
    const run = await runway.trigger('data_lake__mapped_upstream');
    expect((await runway.waitForRun('data_lake__mapped_upstream', run.runId)).state).toBe('success');
    expect(seen.alone!.sort()).toEqual([
      ['a.json', []],
      ['b.json', []],
    ]);
    expect(seen.withList!.sort()).toEqual([
      ['a.json', ['a.json', 'b.json']],
      ['b.json', ['a.json', 'b.json']],
    ]);
  });

  it('retries an index on its own, and counts every index as an upstream for trigger rules', async () => {
    const tries: string[] = [];
    const d = dag({ ...base, id: 'data_lake__mapped_retry' })
      .expand('load', { over: ['a', 'b', 'c'], retries: 1, retryDelay: '10ms' }, (name) => async (ctx) => {
        tries.push(`${name}${ctx.tryNumber}`);
        if (name === 'b' && ctx.tryNumber === 1) throw new Error('warehouse busy');
        if (name === 'c') throw new Error('bad file');
        return name;
      })
      .task('publish', { upstream: ['load'] }, async () => 'published')
      .task('any_loaded', { upstream: ['load'], triggerRule: 'one_success' }, async (ctx) => ctx.upstream.load)
      .task('alert', { upstream: ['load'], triggerRule: 'one_failed' }, async () => 'alerted');
    runway = testRunway([d]);
    runway.worker();
    const run = await runway.trigger('data_lake__mapped_retry');
    expect((await runway.waitForRun('data_lake__mapped_retry', run.runId)).state).toBe('failed');
    expect(tries.sort()).toEqual(['a1', 'b1', 'b2', 'c1', 'c2']);
    expect(await states('data_lake__mapped_retry', run.runId)).toEqual({
      load: 'failed',
      'load[0]': 'success',
      'load[1]': 'success',
      'load[2]': 'failed',
      publish: 'upstream_failed',
      any_loaded: 'success',
      alert: 'success',
    });
    const snapshot = await runway.engine.store.snapshot('data_lake__mapped_retry', run.runId);
    expect([snapshot['load[1]']?.try, snapshot['load[2]']?.error]).toEqual([2, 'bad file']);
  });

  it('skips a task mapped over an empty list, and its all_success downstream with it', async () => {
    const d = dag({ ...base, id: 'data_lake__mapped_empty' })
      .task('list_files', {}, async () => [] as string[])
      .expand('copy', { over: 'list_files' }, (file) => async () => file)
      .task('report', { upstream: ['copy'] }, async () => 'never');
    runway = testRunway([d]);
    runway.worker();
    const run = await runway.trigger('data_lake__mapped_empty');
    expect((await runway.waitForRun('data_lake__mapped_empty', run.runId)).state).toBe('success');
    expect(await states('data_lake__mapped_empty', run.runId)).toEqual({
      list_files: 'success',
      copy: 'skipped',
      report: 'skipped',
    });
    const copy = (await runway.engine.store.snapshot('data_lake__mapped_empty', run.runId)).copy;
    expect(copy?.error).toBe('the output of task "list_files" is an empty list: nothing to map over');
  });

  it('fails a task whose list is longer than maxMapLength, or is no list, saying why', async () => {
    const d = dag({ ...base, id: 'data_lake__mapped_hostile' })
      .task('list_many', {}, async () => Array.from({ length: 11 }, (_, i) => i))
      .expand('each', { over: 'list_many', maxMapLength: 10 }, (n) => async () => n)
      .task('list_lie', {}, async () => ({ not: 'a list' }) as unknown as number[])
      .expand('each_lie', { over: 'list_lie' }, (n) => async () => n)
      .task('after', { upstream: ['each'] }, async () => 'never');
    runway = testRunway([d]);
    runway.worker();
    const run = await runway.trigger('data_lake__mapped_hostile');
    expect((await runway.waitForRun('data_lake__mapped_hostile', run.runId)).state).toBe('failed');
    const snapshot = await runway.engine.store.snapshot('data_lake__mapped_hostile', run.runId);
    expect(Object.keys(snapshot).sort()).toEqual(['after', 'each', 'each_lie', 'list_lie', 'list_many']);
    expect([snapshot.each?.state, snapshot.each?.error]).toEqual([
      'failed',
      'cannot map over the output of task "list_many": it has 11 elements, more than maxMapLength 10 (raise maxMapLength on the task, or split the list upstream)',
    ]);
    expect([snapshot.each_lie?.state, snapshot.each_lie?.error]).toEqual([
      'failed',
      'cannot map over the output of task "list_lie": it is object, not a list',
    ]);
    expect(snapshot.after?.state).toBe('upstream_failed');
  });

  it('clear of one index reruns that index alone; mark sets one index and the task follows', async () => {
    const runs: string[] = [];
    const d = dag({ ...base, id: 'data_lake__mapped_clear' })
      .expand('load', { over: ['a', 'b', 'c'] }, (name, mapIndex) => async () => {
        runs.push(name);
        return mapIndex;
      })
      .task('report', { upstream: ['load'] }, async (ctx) => ctx.upstream.load);
    runway = testRunway([d]);
    runway.worker();
    const run = await runway.trigger('data_lake__mapped_clear');
    await runway.waitForRun('data_lake__mapped_clear', run.runId);
    expect(runs.sort()).toEqual(['a', 'b', 'c']);

    const cleared = await clearTasks(runway.engine, 'data_lake__mapped_clear', run.runId, {
      task: 'load',
      mapIndex: 1,
      downstream: true,
    });
    expect(cleared.sort()).toEqual(['load', 'load[1]', 'report']);
    expect((await runway.waitForRun('data_lake__mapped_clear', run.runId)).state).toBe('success');
    expect(runs.sort()).toEqual(['a', 'b', 'b', 'c']);
    const snapshot = await runway.engine.store.snapshot('data_lake__mapped_clear', run.runId);
    expect([snapshot['load[0]']?.try, snapshot['load[1]']?.try, snapshot.report?.try]).toEqual([1, 2, 2]);
    expect(await runway.engine.store.outputs('data_lake__mapped_clear', run.runId, ['report'])).toEqual({
      report: [0, 1, 2],
    });

    await markTask(runway.engine, 'data_lake__mapped_clear', run.runId, 'load', 'failed', { mapIndex: 2 });
    expect(await states('data_lake__mapped_clear', run.runId)).toMatchObject({ load: 'failed', 'load[2]': 'failed' });
    await markTask(runway.engine, 'data_lake__mapped_clear', run.runId, 'load', 'success', { mapIndex: 2 });
    expect(await states('data_lake__mapped_clear', run.runId)).toMatchObject({ load: 'success', 'load[2]': 'success' });

    await expect(
      clearTasks(runway.engine, 'data_lake__mapped_clear', run.runId, { task: 'load', mapIndex: 3 }),
    ).rejects.toThrow(
      new OperationError(
        'DAG "data_lake__mapped_clear" run "' + run.runId + '": task "load" has map indexes 0 to 2; there is no 3',
      ),
    );
    await expect(
      clearTasks(runway.engine, 'data_lake__mapped_clear', run.runId, { task: 'report', mapIndex: 0 }),
    ).rejects.toThrow('DAG "data_lake__mapped_clear": task "report" is not mapped, so it has no --map-index');
  });

  it('clearing the whole mapped task expands it again from the list as it is now', async () => {
    let length = 3;
    const d = dag({ ...base, id: 'data_lake__mapped_reexpand' })
      .task('list', {}, async () => Array.from({ length }, (_, i) => `p${i}`))
      .expand('copy', { over: 'list' }, (prefix) => async () => prefix);
    runway = testRunway([d]);
    runway.worker();
    const run = await runway.trigger('data_lake__mapped_reexpand');
    await runway.waitForRun('data_lake__mapped_reexpand', run.runId);
    length = 2;
    await clearTasks(runway.engine, 'data_lake__mapped_reexpand', run.runId, { task: 'list', downstream: true });
    expect((await runway.waitForRun('data_lake__mapped_reexpand', run.runId)).state).toBe('success');
    expect(await states('data_lake__mapped_reexpand', run.runId)).toEqual({
      list: 'success',
      copy: 'success',
      'copy[0]': 'success',
      'copy[1]': 'success',
    });
    // The dropped index took its log with it; the run counts only what it has.
    expect(await runway.engine.store.logs('data_lake__mapped_reexpand', run.runId, 'copy[2]', 1)).toEqual([]);
    expect(await runway.engine.store.progress('data_lake__mapped_reexpand', run.runId)).toEqual({
      terminal: 4,
      total: 4,
    });
  });

  it("keeps a pool's slots and the DAG's maxActiveTasks across indexes", async () => {
    let running = 0;
    let most = 0;
    const d = dag({ ...base, id: 'data_lake__mapped_pool', maxActiveTasks: 2 }).expand(
      'copy',
      { over: Array.from({ length: 8 }, (_, i) => i) },
      (n) => async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 30));
        running--;
        return n;
      },
    );
    runway = testRunway([d]);
    runway.worker({ concurrency: 6 });
    const run = await runway.trigger('data_lake__mapped_pool');
    expect((await runway.waitForRun('data_lake__mapped_pool', run.runId, 30_000)).state).toBe('success');
    expect(most).toBe(2);
  });

  it('shows N of M in the grid, lists the indexes on the task page, and clears an index named as the UI names it', async () => {
    let failB = true;
    const d = dag({ ...base, id: 'data_lake__mapped_ui' }).expand(
      'load',
      { over: ['a', 'b', 'c'] },
      (name) => async () => {
        if (name === 'b' && failB) throw new Error('b is late');
        return name;
      },
    );
    runway = testRunway([d]);
    runway.worker();
    const run = await runway.trigger('data_lake__mapped_ui');
    await runway.waitForRun('data_lake__mapped_ui', run.runId);
    const grid = await dagGrid(runway.engine, 'data_lake__mapped_ui');
    expect(grid.tasks.map((t) => t.id)).toEqual(['load']);
    expect(grid.runs[0]?.mapped).toEqual({ load: { done: 3, total: 3 } });
    const page = await taskDetail(runway.engine, 'data_lake__mapped_ui', run.runId, 'load');
    expect(page.indexes).toEqual([
      { mapIndex: 0, state: 'success', try: 1, error: null },
      { mapIndex: 1, state: 'failed', try: 1, error: 'b is late' },
      { mapIndex: 2, state: 'success', try: 1, error: null },
    ]);
    const index = await taskDetail(runway.engine, 'data_lake__mapped_ui', run.runId, 'load[1]');
    expect(index.logs.map((line) => line.replace(/^\S+ /, ''))).toEqual(['ERROR try 1 failed: b is late']);

    failB = false;
    expect(await clearTasks(runway.engine, 'data_lake__mapped_ui', run.runId, { task: 'load[1]' })).toEqual([
      'load',
      'load[1]',
    ]);
    expect((await runway.waitForRun('data_lake__mapped_ui', run.runId)).state).toBe('success');
    expect((await taskDetail(runway.engine, 'data_lake__mapped_ui', run.runId, 'load')).indexes[1]).toEqual({
      mapIndex: 1,
      state: 'success',
      try: 2,
      error: null,
    });
  });

  it('parks each index of a mapped sensor as a delayed job of its own between pokes', async () => {
    const pokes: string[] = [];
    const waitFor = (stream: string): Sensor<{ stream: string; pokes: number }, number> => ({
      kind: 'test-quiescence',
      config: { stream },
      sensor: { timeoutMs: 60_000, softFail: false },
      poke: async (ctx) => {
        pokes.push(`${stream}${ctx.pokeNumber}`);
        return ctx.pokeNumber < 2
          ? { done: false, pokeAgainInMs: 20, state: ctx.pokeNumber }
          : { done: true, value: { stream, pokes: ctx.pokeNumber } };
      },
    });
    const d = dag({ ...base, id: 'data_lake__mapped_sensor' })
      .expand('wait_for_stream', { over: ['clicks', 'views'] }, (stream) => waitFor(stream))
      .task('load', { upstream: ['wait_for_stream'] }, async (ctx) => ctx.upstream.wait_for_stream);
    runway = testRunway([d]);
    runway.worker();
    const run = await runway.trigger('data_lake__mapped_sensor');
    expect((await runway.waitForRun('data_lake__mapped_sensor', run.runId)).state).toBe('success');
    expect(pokes.sort()).toEqual(['clicks1', 'clicks2', 'views1', 'views2']);
    expect(await runway.engine.store.outputs('data_lake__mapped_sensor', run.runId, ['load'])).toEqual({
      load: [
        { stream: 'clicks', pokes: 2 },
        { stream: 'views', pokes: 2 },
      ],
    });
  });

  it("settles a mapped task on the scheduler's repair pass when its last index's worker died before settling", async () => {
    const d = dag({ ...base, id: 'data_lake__mapped_repair' })
      .expand('load', { over: ['a', 'b'] }, (name) => async () => name)
      .task('report', { upstream: ['load'] }, async (ctx) => ctx.upstream.load.join('+'));
    runway = testRunway([d]);
    const run = await runway.trigger('data_lake__mapped_repair');
    // What a worker killed between recording the last index and settling leaves: every index done,
    // the mapped task still running, nothing downstream scheduled.
    const { store } = runway.engine;
    const ended = await store.transition('data_lake__mapped_repair', run.runId, [
      { task: 'load[0]', from: ['scheduled'], set: { state: 'success' }, output: 'a' },
      { task: 'load[1]', from: ['scheduled'], set: { state: 'success' }, output: 'b' },
    ]);
    // The change that ends the last index says so (once): that is what makes a worker settle.
    expect(ended.allIndexesEnded).toEqual(['load']);
    expect(await states('data_lake__mapped_repair', run.runId)).toMatchObject({ load: 'running', report: 'none' });
    runway.worker();
    await runway.scheduler({ reconcileAfterMs: 0 }).reconcile(runway.engine.loaded('data_lake__mapped_repair'));
    expect((await runway.waitForRun('data_lake__mapped_repair', run.runId)).state).toBe('success');
    expect(await store.outputs('data_lake__mapped_repair', run.runId, ['report'])).toEqual({ report: 'a+b' });
  });

  it('maps over a list nested deeper than Redis can decode', async () => {
    const dagId = 'data_lake__mapped_deep';
    // Deeper than the 1,000 levels Redis's cjson decodes: the expansion script cannot count it.
    const deep: unknown = JSON.parse('['.repeat(1_100) + ']'.repeat(1_100));
    const d = dag({ ...base, id: dagId })
      .task('list_trees', {}, async () => [deep, 'leaf'])
      .expand('measure', { over: 'list_trees' }, (tree) => async () => JSON.stringify(tree).length);
    runway = testRunway([d]);
    runway.worker();
    const run = await runway.trigger(dagId);
    expect((await runway.waitForRun(dagId, run.runId)).state).toBe('success');
    expect(await runway.engine.store.outputs(dagId, run.runId, ['measure[0]', 'measure[1]'])).toEqual({
      'measure[0]': 2_200,
      'measure[1]': 6,
    });
  });
});
