import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  dag,
  TRIGGER_RULES,
  type DagOutputs,
  type Operator,
  type RunInfo,
  type Templated,
  type TriggerRule,
  type UpstreamOutputs,
  resolveTemplated,
} from 'runway';

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

  it('types an upstream output as possibly null under every trigger rule that runs after a failure or skip', () => {
    type Region = { region: string; rows: number };
    const regions = dag({ ...base, id: 'data_lake__rules' })
      .task('eu', {}, async (): Promise<Region> => ({ region: 'eu', rows: 3 }))
      .task('us', {}, async (): Promise<Region> => ({ region: 'us', rows: 5 }));

    regions.task('total', { upstream: ['eu', 'us'], triggerRule: 'all_done' }, async (ctx) => {
      expectTypeOf(ctx.upstream.eu).toEqualTypeOf<Region | null>();
      // @ts-expect-error eu may have failed: its output is null then
      void ctx.upstream.eu.rows;
      return (ctx.upstream.eu?.rows ?? 0) + (ctx.upstream.us?.rows ?? 0);
    });
    regions.task('cleanup', { upstream: ['eu'], triggerRule: 'one_failed' }, async (ctx) => {
      expectTypeOf(ctx.upstream).toEqualTypeOf<{ eu: Region | null }>();
    });
    regions.task('first', { upstream: ['eu', 'us'], triggerRule: 'one_success' }, async (ctx) => {
      // The other region may not have finished yet.
      expectTypeOf(ctx.upstream).toEqualTypeOf<{ eu: Region | null; us: Region | null }>();
    });
    regions.task('merge', { upstream: ['eu'], triggerRule: 'none_failed' }, async (ctx) => {
      // none_failed runs after a skipped upstream.
      expectTypeOf(ctx.upstream.eu).toEqualTypeOf<Region | null>();
    });
    regions.task('strict', { upstream: ['eu'], triggerRule: 'all_success' }, async (ctx) => {
      expectTypeOf(ctx.upstream.eu).toEqualTypeOf<Region>();
    });
    regions.task('plain', { upstream: ['eu'] }, async (ctx) => {
      expectTypeOf(ctx.upstream.eu).toEqualTypeOf<Region>();
    });
    // A rule only known at run time could be any rule.
    const rule = 'all_done' as TriggerRule;
    regions.task('dynamic', { upstream: ['eu'], triggerRule: rule }, async (ctx) => {
      expectTypeOf(ctx.upstream.eu).toEqualTypeOf<Region | null>();
    });

    type Declared = { eu: Region };
    type Nullable = { eu: Region | null };
    expectTypeOf<UpstreamOutputs<Declared, 'all_success'>>().toEqualTypeOf<Declared>();
    expectTypeOf<UpstreamOutputs<Declared, Exclude<TriggerRule, 'all_success'>>>().toEqualTypeOf<Nullable>();
    expectTypeOf<UpstreamOutputs<Declared, 'all_done'>>().toEqualTypeOf<Nullable>();
    expectTypeOf<UpstreamOutputs<Declared, 'all_failed'>>().toEqualTypeOf<Nullable>();
    expectTypeOf<UpstreamOutputs<Declared, 'all_done_min_one_success'>>().toEqualTypeOf<Nullable>();
    expectTypeOf<UpstreamOutputs<Declared, 'all_skipped'>>().toEqualTypeOf<Nullable>();
    expectTypeOf<UpstreamOutputs<Declared, 'one_done'>>().toEqualTypeOf<Nullable>();
    expectTypeOf<UpstreamOutputs<Declared, 'none_failed_min_one_success'>>().toEqualTypeOf<Nullable>();
    expectTypeOf<UpstreamOutputs<Declared, 'none_skipped'>>().toEqualTypeOf<Nullable>();
    expectTypeOf<UpstreamOutputs<Declared, 'always'>>().toEqualTypeOf<Nullable>();
    // A rule added later is possibly null until it is listed as requiring success.
    expectTypeOf<UpstreamOutputs<Declared, 'none_failed_or_skipped'>>().toEqualTypeOf<Nullable>();
    expectTypeOf<UpstreamOutputs<Declared, 'all_done_setup_success'>>().toEqualTypeOf<Nullable>();
    expect(TRIGGER_RULES).toContain('all_success');
  });
});
