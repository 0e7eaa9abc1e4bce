/**
 * Task groups and setup/teardown as an author meets them: typed ids (a misnamed member or upstream
 * is a compile error), the edges a group stands for, its default arguments, and the errors a
 * hostile or mistaken definition gets, each naming the DAG, the group or task, and the field.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { dag, type DagOutputs } from 'runway';
import { summarizeDag } from '../runner/core/dag-summary.ts';
import { checkDag } from '../runner/core/dag-checks.ts';

const base = {
  description: 'Typing fixture for task groups',
  owner: 'data-platform',
  tags: ['data-lake'],
  schedule: '@daily',
  timezone: 'UTC',
  startDate: '2026-01-01',
} as const;

const upstreamOf = (d: { tasks: readonly { id: string; spec: { upstream?: readonly string[] } }[] }) =>
  Object.fromEntries(d.tasks.map((t) => [t.id, t.spec.upstream ?? []]));

describe('task groups', () => {
  it('names members <group>.<id>, types their outputs, and wires the group to its roots and from its leaves', () => {
    const d = dag({ ...base, id: 'data_lake__groups' })
      .task('extract', {}, async () => ({ rows: 3 }))
      .group('load', { upstream: ['extract'] }, (g) =>
        g
          .task('stage', { upstream: ['extract'] }, async (ctx) => {
            expectTypeOf(ctx.upstream).toEqualTypeOf<{ extract: { rows: number } }>();
            return 'staged';
          })
          .task('audit', {}, async () => 1)
          .task('merge', { upstream: ['load.stage'] }, async (ctx) => {
            expectTypeOf(ctx.upstream['load.stage']).toEqualTypeOf<string>();
            return { merged: true };
          }),
      )
      .task('report', { upstream: ['load'] }, async (ctx) => {
        // A group named upstream is an ordering, not an output: read a member's output by its id.
        expectTypeOf(ctx.upstream).toEqualTypeOf<Record<never, never>>();
        return null;
      })
      .task('publish', { upstream: ['load.merge'] }, async (ctx) => ctx.upstream['load.merge'].merged);

    expectTypeOf<DagOutputs<typeof d>['load.merge']>().toEqualTypeOf<{ merged: boolean }>();
    expect(upstreamOf(d)).toEqual({
      extract: [],
      'load.stage': ['extract'],
      'load.audit': ['extract'],
      'load.merge': ['load.stage'],
      report: ['load.audit', 'load.merge'],
      publish: ['load.merge'],
    });
    expect(summarizeDag(d as never).tasks.map((t) => [t.id, t.group])).toEqual([
      ['extract', undefined],
      ['load.stage', 'load'],
      ['load.audit', 'load'],
      ['load.merge', 'load'],
      ['report', undefined],
      ['publish', undefined],
    ]);
    expect(checkDag(summarizeDag(d as never))).toEqual([]);
  });

  it('refuses a misnamed member or upstream id at compile time', () => {
    const d = dag({ ...base, id: 'data_lake__group_typos' }).group('load', {}, (g) =>
      g.task('stage', {}, async () => 1),
    );
    // @ts-expect-error members are named by their full id: 'load.stgae' is a typo
    d.task('report', { upstream: ['load.stgae'] }, async () => 1);
    // @ts-expect-error 'stage' alone is not an id outside the group
    d.task('report', { upstream: ['stage'] }, async () => 1);
    // @ts-expect-error no group 'laod'
    d.task('report', { upstream: ['laod'] }, async () => 1);
    d.group('check', {}, (g) =>
      // @ts-expect-error inside a group too, upstream ids are full ids
      g.task('count', { upstream: ['stage'] }, async () => 1),
    );
    // @ts-expect-error a group's upstream must be declared before it
    d.group('check', { upstream: ['report'] }, (g) => g.task('count', {}, async () => 1));
    expect(d.tasks.map((t) => t.id)).toEqual(['load.stage']);
  });

  it("starts the group's tasks from its default arguments, under the task's own and over the DAG's", () => {
    const d = dag({ ...base, id: 'data_lake__group_args', defaultArgs: { retries: 1, pool: 'default' } }).group(
      'load',
      { defaultArgs: { retries: 3, pool: 'redshift', executionTimeout: '10m', queue: 'warehouse' } },
      (g) =>
        g
          .task('stage', {}, async () => 1)
          .task('merge', { retries: 0 }, async () => 1)
          .group('tables', { defaultArgs: { pool: 'tables' } }, (h) => h.task('orders', {}, async () => 1)),
    );
    const args = Object.fromEntries(summarizeDag(d as never).tasks.map((t) => [t.id, t.args]));
    expect(args['load.stage']).toEqual({ retries: 3, pool: 'redshift', executionTimeout: '10m' });
    expect(args['load.merge']).toEqual({ retries: 0, pool: 'redshift', executionTimeout: '10m' });
    expect(args['load.tables.orders']).toEqual({ retries: 3, pool: 'tables', executionTimeout: '10m' });
    expect(d.tasks.find((t) => t.id === 'load.stage')?.spec.queue).toBe('warehouse');
    expect(summarizeDag(d as never).groups).toEqual([{ id: 'load' }, { id: 'load.tables' }]);
  });

  it('waits, for a group named upstream, on its work leaves, not on its teardown', () => {
    const d = dag({ ...base, id: 'data_lake__group_teardown' })
      .group('scratch', {}, (g) =>
        g
          .setup('create', {}, async () => 'schema')
          .task('work', { upstream: ['scratch.create'] }, async () => 1)
          .teardown('drop', { setups: ['scratch.create'], upstream: ['scratch.work'] }, async () => null),
      )
      .task('after', { upstream: ['scratch'] }, async () => null);
    expect(upstreamOf(d).after).toEqual(['scratch.work']);
  });

  it.each([
    [
      'a dot in a group id',
      (d: Base) => d.group('lo.ad', {}, (g) => g.task('x', {}, async () => 1)),
      /group "lo\.ad": a group id may only contain/,
    ],
    [
      'an empty group id',
      (d: Base) => d.group('', {}, (g) => g.task('x', {}, async () => 1)),
      /a group id may only contain/,
    ],
    [
      'a dot in a member id',
      (d: Base) => d.group('load', {}, (g) => g.task('a.b', {}, async () => 1)),
      /group "load": task id "a\.b" may only contain .* \(its full id is "load\.a\.b"\)/,
    ],
    [
      'a group with the id of a task',
      (d: Base) => d.task('load', {}, async () => 1).group('load', {}, (g) => g.task('x', {}, async () => 1)),
      /group "load": a task has this id/,
    ],
    [
      'a task with the id of a group',
      (d: Base) => d.group('load', {}, (g) => g.task('x', {}, async () => 1)).task('load', {}, async () => 1),
      /task "load": a task group has this id/,
    ],
    [
      'two groups with one id',
      (d: Base) =>
        d
          .group('load', {}, (g) => g.task('x', {}, async () => 1))
          .group('load', {}, (g) => g.task('y', {}, async () => 1)),
      /group "load": another group has this id/,
    ],
    ['an empty group', (d: Base) => d.group('load', {}, (g) => g), /group "load": the group has no tasks/],
    [
      'a builder that returns something else',
      (d: Base) => d.group('load', {}, (() => undefined) as never),
      /group "load": its function must return the group it was given/,
    ],
    [
      'a bad default argument',
      (d: Base) => d.group('load', { defaultArgs: { retries: -1 } }, (g) => g.task('x', {}, async () => 1)),
      /DAG "data_lake__group_errors", group "load": field "defaultArgs\.retries"/,
    ],
    [
      'an unknown default argument',
      (d: Base) =>
        // @ts-expect-error `retrys` is not a default argument
        d.group('load', { defaultArgs: { retrys: 2 } }, (g) => g.task('x', {}, async () => 1)),
      /group "load": field "defaultArgs": .*retrys/,
    ],
  ])('refuses %s, naming the DAG, the group and the field', (_name, define, message) => {
    expect(() => define(dag({ ...base, id: 'data_lake__group_errors' }))).toThrow(message);
  });

  it('reports a clash between a task "a.b" and the member b of group a when the DAG is checked', () => {
    const d = dag({ ...base, id: 'data_lake__group_clash' })
      .task('a.b', {}, async () => 1)
      .group('a', {}, (g) => g.task('b', {}, async () => 2));
    expect(checkDag(summarizeDag(d as never))).toEqual([
      expect.objectContaining({ rule: 'duplicate-task-id', taskId: 'a.b', dagId: 'data_lake__group_clash' }),
    ]);
  });
});

type Base = ReturnType<typeof dag>;

describe('setup and teardown definitions', () => {
  it('hands a teardown its upstream outputs as possibly null, and waits for its setups too', () => {
    const d = dag({ ...base, id: 'data_lake__teardown_types' })
      .setup('create', {}, async () => ({ schema: 's1' }))
      .task('load', { upstream: ['create'] }, async (ctx) => ctx.upstream.create.schema)
      .teardown('drop', { setups: ['create'], upstream: ['load'] }, async (ctx) => {
        expectTypeOf(ctx.upstream).toEqualTypeOf<{ create: { schema: string } | null; load: string | null }>();
        return null;
      });
    const drop = summarizeDag(d as never).tasks.find((t) => t.id === 'drop');
    expect(drop).toMatchObject({
      role: 'teardown',
      setups: ['create'],
      triggerRule: 'all_done_setup_success',
      upstream: ['load', 'create'],
    });
    expect(() =>
      // @ts-expect-error a setup must be declared before its teardown: 'crate' is a typo
      d.teardown('drop2', { setups: ['crate'] }, async () => null),
    ).toThrow(/field "setups": "crate" is not a task declared before it/);
  });

  it.each([
    [
      'a setup that is not a setup task',
      (d: Base) => d.task('create', {}, async () => 1).teardown('drop', { setups: ['create'] }, async () => null),
      /teardown "drop": field "setups": "create" is not a setup task/,
    ],
    [
      'a setup that does not exist',
      (d: Base) => d.teardown('drop', { setups: ['nope' as never] }, async () => null),
      /teardown "drop": field "setups": "nope" is not a task declared before it/,
    ],
    [
      'a trigger rule on a teardown',
      (d: Base) => d.teardown('drop', { triggerRule: 'all_done' } as never, async () => null),
      /teardown "drop": field "triggerRule": a teardown's trigger rule is always all_done_setup_success/,
    ],
    [
      'a non-boolean onFailureFailRun',
      (d: Base) => d.teardown('drop', { onFailureFailRun: 'yes' } as never, async () => null),
      /teardown "drop": field "onFailureFailRun"/,
    ],
  ])('refuses %s, naming the DAG, the teardown and the field', (_name, define, message) => {
    expect(() => define(dag({ ...base, id: 'data_lake__teardown_errors' }))).toThrow(message);
  });

  it('reports a task right after a setup with a trigger rule other than all_success (as Airflow refuses it)', () => {
    const d = dag({ ...base, id: 'data_lake__setup_rule' })
      .setup('create', {}, async () => 1)
      .task('load', { upstream: ['create'], triggerRule: 'all_done' }, async () => 1);
    expect(checkDag(summarizeDag(d as never))).toEqual([
      expect.objectContaining({
        rule: 'setup-downstream-rule',
        taskId: 'load',
        message: expect.stringContaining('follows setup "create"'),
      }),
    ]);
  });
});
