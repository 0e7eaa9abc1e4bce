/**
 * Deadline alerts in one process: when a run is due, what counts as a miss, the errors a DAG author
 * gets for a bad `deadline`, and a scheduler whose clock jumps. The multi-process race is in
 * deadline-alerts.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dag } from 'runway';
import { deadlineDueAt, missedDeadline, type DeadlineMissContext } from '../runner/core/deadline.ts';
import { runCli } from './helpers/run-cli.ts';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';

let runway: TestRunway | undefined;
afterEach(async () => {
  await runway?.close();
  runway = undefined;
});

const run = {
  dataIntervalEnd: '2026-03-01T00:00:00.000Z',
  createdAt: '2026-03-01T02:00:00.000Z',
};

describe('when a deadline falls and what misses it', () => {
  it('counts from the data interval end or from when the run was queued', () => {
    expect(deadlineDueAt({ after: '3h', from: 'dataIntervalEnd', notify: [] }, run)).toBe(
      Date.parse('2026-03-01T03:00:00.000Z'),
    );
    expect(deadlineDueAt({ after: '90m', from: 'queuedAt', notify: [] }, run)).toBe(
      Date.parse('2026-03-01T03:30:00.000Z'),
    );
  });

  it('is missed by a run not finished by then, or finished after it; not before it falls', () => {
    const due = Date.parse('2026-03-01T03:00:00.000Z');
    expect(missedDeadline({ state: 'running' }, due, due - 1)).toBe(false);
    expect(missedDeadline({ state: 'running' }, due, due)).toBe(true);
    expect(missedDeadline({ state: 'queued' }, due, due + 1)).toBe(true);
    expect(missedDeadline({ state: 'success', endedAt: '2026-03-01T02:59:59.000Z' }, due, due + 1)).toBe(false);
    expect(missedDeadline({ state: 'failed', endedAt: '2026-03-01T03:00:00.000Z' }, due, due + 1)).toBe(false);
    expect(missedDeadline({ state: 'success', endedAt: '2026-03-01T03:00:01.000Z' }, due, due + 1)).toBe(true);
  });
});

describe('a bad deadline', () => {
  const withDeadline = (deadline: unknown) => () =>
    dag({ ...manualDag, id: 'data_lake__deadline', deadline } as unknown as Parameters<typeof dag>[0]);

  it('is refused with the DAG and the field named, and what to write instead', () => {
    const hook = { type: 'slack', webhookUrlEnv: 'HOOK' };
    expect(withDeadline({ after: '3 hours', from: 'queuedAt', notify: [hook] })).toThrow(
      'DAG "data_lake__deadline": field "deadline.after": must be a number and a unit, like "30s", "5m", "3h" or "1d"',
    );
    expect(withDeadline({ after: '3h', from: 'startedAt', notify: [hook] })).toThrow(
      'DAG "data_lake__deadline": field "deadline.from": must be one of dataIntervalEnd, queuedAt',
    );
    expect(withDeadline({ after: '3h', from: 'queuedAt', notify: [] })).toThrow(
      'DAG "data_lake__deadline": field "deadline.notify": must name at least one notifier',
    );
    expect(withDeadline({ after: '3h', from: 'queuedAt', notify: [{ type: 'email', to: ['a@b.c'] }] })).toThrow(
      'DAG "data_lake__deadline": field "deadline.notify.0": each notifier is { type: "slack", webhookUrlEnv: "..." } or a function',
    );
    expect(withDeadline({ after: '3h', from: 'queuedAt', notify: [hook], on: ['failure'] })).toThrow(
      'DAG "data_lake__deadline": field "deadline": Unrecognized key: "on"',
    );
  });

  it('fails `runway validate` with the file and the field named', async () => {
    const result = await runCli(['validate', 'test/fixtures/deadline-errors']);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain(
      'test/fixtures/deadline-errors/data_lake__bad_deadline.ts:13: DagDefinitionError: DAG "data_lake__bad_deadline": ' +
        'field "deadline.from": must be one of dataIntervalEnd, queuedAt',
    );
  });
});

describe('a scheduler whose clock jumps', () => {
  it('tells nobody before the deadline, once after it, and not again when the clock goes back and forth', async () => {
    const told: DeadlineMissContext[] = [];
    const late = dag({
      ...manualDag,
      id: 'data_lake__deadline_clock',
      deadline: { after: '1h', from: 'dataIntervalEnd', notify: [(miss) => void told.push(miss)] },
    }).task('never', { queue: 'nobody' }, async () => ({}));
    runway = testRunway([late]);
    let now = new Date('2026-03-01T00:00:00.000Z');
    const scheduler = runway.scheduler({ now: () => now, quietMs: 0 });
    const triggered = await runway.trigger('data_lake__deadline_clock', {}, now);

    now = new Date('2026-03-01T00:59:59.999Z');
    await scheduler.tick();
    expect(told).toEqual([]);
    expect(await runway.engine.deadlines.missOf('data_lake__deadline_clock', triggered.runId)).toBeUndefined();

    now = new Date('2026-03-01T05:00:00.000Z');
    await scheduler.tick();
    expect(told).toEqual([
      {
        dagId: 'data_lake__deadline_clock',
        runId: triggered.runId,
        state: 'running',
        deadline: '2026-03-01T01:00:00.000Z',
      },
    ]);
    const miss = await runway.engine.deadlines.missOf('data_lake__deadline_clock', triggered.runId);
    expect(miss).toMatchObject({ deadline: '2026-03-01T01:00:00.000Z', state: 'running' });
    expect(miss?.notifiedAt).toBeDefined();

    for (const at of ['2026-03-01T00:30:00.000Z', '2026-03-02T00:00:00.000Z']) {
      now = new Date(at);
      await scheduler.tick();
    }
    expect(told).toHaveLength(1);
  });
});
