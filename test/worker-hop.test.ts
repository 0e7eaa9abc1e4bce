/**
 * The worker's hop: a downstream task that its upstream's outcome alone decides is scheduled by the
 * script that records that outcome (one round trip less per task), never when the outcome was not
 * written or the run is no longer running.
 */
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { dag } from 'runway';
import { scheduledByAlone, type GraphTask } from '../runner/core/run-advance.ts';
import { testRunway, manualDag, type TestRunway } from './helpers/runway.ts';
import { until } from './helpers/services.ts';

let runway: TestRunway | undefined;
afterEach(async () => {
  await runway?.close();
  runway = undefined;
});

describe('scheduledByAlone', () => {
  const graph: GraphTask[] = [
    { id: 'extract', upstream: [], triggerRule: 'all_success' },
    { id: 'lookup', upstream: [], triggerRule: 'all_success' },
    { id: 'load', upstream: ['extract'], triggerRule: 'all_success' },
    { id: 'join', upstream: ['extract', 'lookup'], triggerRule: 'all_success' },
    { id: 'alert', upstream: ['extract'], triggerRule: 'one_failed' },
    { id: 'cleanup', upstream: ['extract'], triggerRule: 'all_done' },
  ];

  it('schedules the tasks whose only upstream task is the finished one and whose rule it meets', () => {
    expect(scheduledByAlone(graph, 'extract', 'success')).toEqual(['load', 'cleanup']);
    expect(scheduledByAlone(graph, 'extract', 'failed')).toEqual(['alert', 'cleanup']);
  });

  it('leaves a task with other upstream tasks, and any task after a try that will run again, to advance', () => {
    expect(scheduledByAlone(graph, 'lookup', 'success')).toEqual([]);
    expect(scheduledByAlone(graph, 'extract', 'up_for_retry')).toEqual([]);
  });
});

describe('the finish script', () => {
  it("schedules a chain's next task with its upstream's success, and the run still ends in success", async () => {
    const chain = dag({ ...manualDag, id: 'data_lake__hop_chain' })
      .task('extract', {}, async () => 1)
      .task('transform', { upstream: ['extract'] }, async (ctx) => (ctx.upstream.extract as number) + 1)
      .task('load', { upstream: ['transform'] }, async (ctx) => (ctx.upstream.transform as number) + 1);
    runway = testRunway([chain]);
    runway.worker();
    const run = await runway.trigger('data_lake__hop_chain');
    expect((await runway.waitForRun('data_lake__hop_chain', run.runId)).state).toBe('success');
    const states = await runway.engine.store.snapshot('data_lake__hop_chain', run.runId);
    // Scheduled by the script that recorded extract's success: queued the moment it ended.
    expect(states.transform!.queuedAt).toBe(states.extract!.endedAt);
    expect(await runway.engine.store.outputs('data_lake__hop_chain', run.runId, ['load'])).toEqual({ load: 3 });
  });

  it('records the success of a task whose run was ended meanwhile, and schedules nothing after it', async () => {
    let release = () => undefined as void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const chain = dag({ ...manualDag, id: 'data_lake__hop_ended' })
      .task('extract', {}, async () => {
        await released;
        return 1;
      })
      .task('load', { upstream: ['extract'] }, async () => 2);
    runway = testRunway([chain]);
    runway.worker();
    onTestFinished(() => release());
    const run = await runway.trigger('data_lake__hop_ended');
    const store = runway.engine.store;
    const stateOf = async (task: string) => (await store.states('data_lake__hop_ended', run.runId, [task]))[task]!;
    await until('extract to run', async () => ((await stateOf('extract')).state === 'running' ? true : undefined));
    // A person marks the run failed while extract runs.
    expect(await store.setRunState('data_lake__hop_ended', run.runId, 'failed', ['running'])).toBeTruthy();
    release();
    await until('extract to end', async () => ((await stateOf('extract')).state === 'success' ? true : undefined));
    expect((await stateOf('load')).state).toBe('none');
    expect((await store.getRun('data_lake__hop_ended', run.runId))!.state).toBe('failed');
  });

  it("starts the DAG's queued run when the worker ends the running one, with no scheduler", async () => {
    const oneAtATime = dag({ ...manualDag, id: 'data_lake__hop_queued', maxActiveRuns: 1 })
      .task('extract', {}, async () => 1)
      .task('load', { upstream: ['extract'] }, async () => 2);
    runway = testRunway([oneAtATime]);
    const first = await runway.trigger('data_lake__hop_queued', {}, new Date('2026-03-01T00:00:00Z'));
    const second = await runway.trigger('data_lake__hop_queued', {}, new Date('2026-03-02T00:00:00Z'));
    expect([first.state, second.state]).toEqual(['running', 'queued']);
    runway.worker();
    // The run-ending script counts one queued run: the worker that ends the first starts it.
    expect((await runway.waitForRun('data_lake__hop_queued', second.runId)).state).toBe('success');
  });

  it("does not schedule the next task when the try's own outcome is refused", async () => {
    const chain = dag({ ...manualDag, id: 'data_lake__hop_refused' })
      .task('extract', {}, async () => 1)
      .task('load', { upstream: ['extract'] }, async () => 2);
    runway = testRunway([chain]);
    const run = await runway.trigger('data_lake__hop_refused');
    const store = runway.engine.store;
    // extract is scheduled, not running: a finish of it (from running) is refused, and so is the
    // downstream change that rides with it, though load itself is `none`.
    const outcome = await store.transition('data_lake__hop_refused', run.runId, [
      { task: 'extract', from: ['running'], set: { state: 'success' } },
      { task: 'load', from: ['none'], set: { state: 'scheduled' }, withFirst: true, ifRun: 'running' },
    ]);
    expect(outcome.results).toEqual(['conflict', 'conflict']);
    expect(outcome.snapshot.load!.state).toBe('none');
  });
});
