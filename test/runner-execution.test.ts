import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { dag, failNow, skip } from 'runway';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';
import { until } from './helpers/services.ts';

const base = manualDag;

let runway: TestRunway;
afterEach(async () => runway?.close());

describe('executing a DAG run on BullMQ', () => {
  it('runs a diamond, handing each task its upstream outputs, and ends in success', async () => {
    const seen: unknown[] = [];
    const diamond = dag({ ...base, id: 'data_lake__diamond' })
      .task('extract', {}, async (ctx) => ({ day: ctx.ds, rows: 10 }))
      .task('left', { upstream: ['extract'] }, async (ctx) => ctx.upstream.extract.rows * 2)
      .task('right', { upstream: ['extract'] }, async (ctx) => ctx.upstream.extract.rows * 3)
      .task('join', { upstream: ['left', 'right'] }, async (ctx) => {
        seen.push(ctx.upstream);
        return { total: ctx.upstream.left + ctx.upstream.right };
      });
    runway = testRunway([diamond]);
    runway.worker();
    const run = await runway.trigger('data_lake__diamond', {}, new Date('2026-03-01T00:00:00Z'));
    const done = await runway.waitForRun('data_lake__diamond', run.runId);
    expect(done.state).toBe('success');
    expect(seen).toEqual([{ left: 20, right: 30 }]);
    const states = await runway.engine.store.snapshot('data_lake__diamond', run.runId);
    expect(Object.fromEntries(Object.entries(states).map(([id, ti]) => [id, [ti.state, ti.try]]))).toEqual({
      extract: ['success', 1],
      left: ['success', 1],
      right: ['success', 1],
      join: ['success', 1],
    });
    expect(await runway.engine.store.outputs('data_lake__diamond', run.runId, ['extract', 'join'])).toEqual({
      extract: { day: '2026-03-01', rows: 10 },
      join: { total: 50 },
    });
  });

  it("shows a running try's log lines before the try ends, in order, and the rest when it ends", async () => {
    let release = () => undefined as void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const long = dag({ ...base, id: 'data_lake__long_copy' }).task('copy', {}, async (ctx) => {
      ctx.log.info('COPY submitted: statement 42');
      ctx.log.info('COPY running');
      await released;
      ctx.log.info('COPY finished: 1000 rows');
      return null;
    });
    runway = testRunway([long]);
    runway.worker();
    const run = await runway.trigger('data_lake__long_copy');
    const read = () => runway.engine.store.logs('data_lake__long_copy', run.runId, 'copy', 1);
    onTestFinished(() => release()); // a failed expectation must not leave the task waiting
    await until(
      'the running try to have its first lines in Redis',
      async () => ((await read()).length === 2 ? true : undefined),
      5_000,
    );
    expect((await runway.engine.store.getRun('data_lake__long_copy', run.runId))?.state).toBe('running');
    release();
    expect((await runway.waitForRun('data_lake__long_copy', run.runId)).state).toBe('success');
    expect((await read()).map((line) => line.replace(/^\S+ /, ''))).toEqual([
      'INFO COPY submitted: statement 42',
      'INFO COPY running',
      'INFO COPY finished: 1000 rows',
    ]);
  });

  it('retries a failing task with its retry policy, then succeeds', async () => {
    let calls = 0;
    const flaky = dag({ ...base, id: 'data_lake__flaky' }).task(
      'load',
      { retries: 2, retryDelay: '50ms' },
      async (ctx) => {
        calls++;
        if (ctx.tryNumber < 3) throw new Error(`warehouse busy (try ${ctx.tryNumber})`);
        return ctx.tryNumber;
      },
    );
    runway = testRunway([flaky]);
    runway.worker();
    const run = await runway.trigger('data_lake__flaky');
    expect((await runway.waitForRun('data_lake__flaky', run.runId)).state).toBe('success');
    expect(calls).toBe(3);
    const ti = (await runway.engine.store.snapshot('data_lake__flaky', run.runId)).load!;
    expect([ti.state, ti.try]).toEqual(['success', 3]);
    expect(await runway.engine.store.logs('data_lake__flaky', run.runId, 'load', 1)).toEqual([
      expect.stringMatching(/ERROR try 1 failed: warehouse busy \(try 1\)$/),
    ]);
  });

  it('fails at once on failNow, marks downstream upstream_failed and fails the run', async () => {
    let calls = 0;
    const broken = dag({ ...base, id: 'data_lake__broken' })
      .task('load', { retries: 3, retryDelay: '10ms' }, async () => {
        calls++;
        throw failNow('table analytics.events does not exist');
      })
      .task('publish', { upstream: ['load'] }, async () => 'never')
      .task('cleanup', { upstream: ['publish'], triggerRule: 'all_done' }, async () => 'tidied');
    runway = testRunway([broken]);
    runway.worker();
    const run = await runway.trigger('data_lake__broken');
    expect((await runway.waitForRun('data_lake__broken', run.runId)).state).toBe('success');
    expect(calls).toBe(1);
    const states = await runway.engine.store.snapshot('data_lake__broken', run.runId);
    expect(states.load).toMatchObject({ state: 'failed', try: 1, error: 'table analytics.events does not exist' });
    expect(states.publish?.state).toBe('upstream_failed');
    expect(states.cleanup?.state).toBe('success');
  });

  it('fails the run when a leaf fails', async () => {
    const d = dag({ ...base, id: 'data_lake__leaf_fails' })
      .task('a', {}, async () => 1)
      .task('b', { upstream: ['a'] }, async () => {
        throw new Error('boom');
      });
    runway = testRunway([d]);
    runway.worker();
    const run = await runway.trigger('data_lake__leaf_fails');
    expect((await runway.waitForRun('data_lake__leaf_fails', run.runId)).state).toBe('failed');
  });

  it('propagates a skip, and follows only the branch a branching task chooses', async () => {
    const ran: string[] = [];
    const d = dag({ ...base, id: 'data_lake__branching' })
      .task('check', {}, async () => {
        throw skip('no new files');
      })
      .task('after_check', { upstream: ['check'] }, async () => void ran.push('after_check'))
      .task('choose', { branch: true }, async () => ['full_load'])
      .task('full_load', { upstream: ['choose'] }, async () => void ran.push('full_load'))
      .task('incremental', { upstream: ['choose'] }, async () => void ran.push('incremental'))
      .task(
        'report',
        { upstream: ['full_load', 'incremental'], triggerRule: 'none_failed_min_one_success' },
        async () => {
          ran.push('report');
        },
      );
    runway = testRunway([d]);
    runway.worker();
    const run = await runway.trigger('data_lake__branching');
    expect((await runway.waitForRun('data_lake__branching', run.runId)).state).toBe('success');
    const states = await runway.engine.store.snapshot('data_lake__branching', run.runId);
    expect(states.check?.state).toBe('skipped');
    expect(states.after_check?.state).toBe('skipped');
    expect(states.incremental?.state).toBe('skipped');
    expect(ran.sort()).toEqual(['full_load', 'report']);
  });

  it('aborts a try that outlives its execution timeout, and retries it', async () => {
    let aborted = 0;
    const d = dag({ ...base, id: 'data_lake__slow' }).task(
      'slow',
      { executionTimeout: '200ms', retries: 1, retryDelay: '10ms' },
      async (ctx) => {
        if (ctx.tryNumber === 2) return 'fast enough';
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => (aborted++, resolve())));
        return 'too late';
      },
    );
    runway = testRunway([d]);
    runway.worker();
    const run = await runway.trigger('data_lake__slow');
    expect((await runway.waitForRun('data_lake__slow', run.runId)).state).toBe('success');
    expect(aborted).toBe(1);
    expect(await runway.engine.store.outputs('data_lake__slow', run.runId, ['slow'])).toEqual({ slow: 'fast enough' });
    expect(await runway.engine.store.logs('data_lake__slow', run.runId, 'slow', 1)).toEqual([
      expect.stringMatching(/try 1 failed: timed out after 200 ms/),
    ]);
  });
});
