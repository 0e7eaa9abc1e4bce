import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { dag, type DagOutputs, type Operator, type RunInfo, type Templated, resolveTemplated } from 'runway';

const base = {
  description: 'Typing fixture for the builder',
  owner: 'data-platform',
  tags: ['data-lake'],
  schedule: '@daily',
  timezone: 'UTC',
  startDate: '2026-01-01',
} as const;

/** A stand-in for an AWS operator: typed options, one of them a function of the run. */
function countRows(options: { table: string; day: Templated<string> }): Operator<{ table: string; rows: number }> {
  return {
    kind: 'count-rows',
    config: options,
    run: async (ctx) => ({ table: options.table, rows: resolveTemplated(options.day, ctx).length }),
  };
}

describe('DAG typing', () => {
  it('hands each task the typed JSON form of the outputs it declared upstream', () => {
    const pipeline = dag({ ...base, id: 'data_lake__typing' })
      .task('extract', {}, async () => ({ rows: 3, at: new Date(0), skipped: undefined }))
      .task('count', {}, countRows({ table: 'events', day: (run) => run.ds }))
      .task('report', { upstream: ['extract', 'count'] }, async (ctx) => {
        expectTypeOf(ctx.upstream.extract.rows).toEqualTypeOf<number>();
        // A Date crosses Redis as its ISO string.
        expectTypeOf(ctx.upstream.extract.at).toEqualTypeOf<string>();
        expectTypeOf(ctx.upstream.count).toEqualTypeOf<{ table: string; rows: number }>();
        return `${ctx.upstream.count.rows}`;
      })
      .task('notify', { upstream: ['report'] }, async (ctx) => {
        expectTypeOf(ctx.upstream).toEqualTypeOf<{ report: string }>();
        // @ts-expect-error `extract` is not upstream of `notify`
        void ctx.upstream.extract;
      });

    expectTypeOf<DagOutputs<typeof pipeline>['notify']>().toEqualTypeOf<null>();
    expect(pipeline.tasks.map((t) => t.id)).toEqual(['extract', 'count', 'report', 'notify']);
    expect(pipeline.tasks[2]?.spec.upstream).toEqual(['extract', 'count']);
  });

  it('rejects an upstream id that no earlier task has, at compile time', () => {
    const d = dag({ ...base, id: 'data_lake__typo' }).task('extract', {}, async () => 1);
    // @ts-expect-error 'extarct' is a typo
    d.task('load', { upstream: ['extarct'] }, async () => 2);
    expect(d.tasks).toHaveLength(1);
  });

  it('rejects a wrong operator option at compile time and at run time', () => {
    // @ts-expect-error `tabel` is not an option of countRows
    countRows({ tabel: 'x', day: '2026-01-01' });
    expect(() =>
      dag({ ...base, id: 'data_lake__bad_spec' }).task(
        'load',
        // @ts-expect-error `retrys` is not a task option
        { retrys: 2 },
        async () => 1,
      ),
    ).toThrow(/DAG "data_lake__bad_spec", task "load": .*retrys/);
  });

  it('reaches run-time values through typed functions of the run, with params typed by the schema', () => {
    const d = dag({
      ...base,
      id: 'data_lake__params',
      params: z.object({ table: z.string(), full: z.boolean() }),
    }).task('load', {}, async (ctx) => {
      expectTypeOf(ctx.params).toEqualTypeOf<{ table: string; full: boolean }>();
      expectTypeOf(ctx.logicalDate).toEqualTypeOf<Date>();
      expectTypeOf(ctx.dataIntervalEnd).toEqualTypeOf<Date>();
      return `${ctx.params.table}/${ctx.dsNodash}`;
    });
    expectTypeOf<Parameters<Extract<Templated<string>, (run: RunInfo) => string>>[0]['ds']>().toEqualTypeOf<string>();
    // @ts-expect-error a template is a function of the run, not a string with placeholders checked later
    const bad: Templated<number> = '{{ ds }}';
    void bad;
    expect(d.tasks[0]?.operator.kind).toBe('function');
  });
});
