/** Dynamic task mapping is typed end to end: element type in, `T[]` out, wrong items rejected by tsc. */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { dag, DagDefinitionError, type DagOutputs } from 'runway';
import { glueCrawler, redshiftCopy, s3Sync, streamQuiescence, type RedshiftCopyOutput } from '../operators/index.ts';

const base = {
  description: 'Typing fixture for mapped tasks',
  owner: 'data-platform',
  tags: ['data-lake'],
  schedule: '@daily',
  timezone: 'UTC',
  startDate: '2026-01-01',
} as const;

const warehouse = { workgroupName: 'analytics', database: 'dev' };

describe('mapped task typing', () => {
  it('hands build the element type and a downstream task the list of outputs', () => {
    const pipeline = dag({ ...base, id: 'data_lake__mapped_types' })
      .task('list_days', {}, async () => [{ day: '2026-01-01', files: 3 }])
      .expand('count', { over: 'list_days' }, (entry, mapIndex) => {
        expectTypeOf(entry).toEqualTypeOf<{ day: string; files: number }>();
        expectTypeOf(mapIndex).toEqualTypeOf<number>();
        return async () => ({ day: entry.day, at: new Date(0) });
      })
      .task('report', { upstream: ['count'] }, async (ctx) => {
        // A Date crosses Redis as its ISO string, in a list as anywhere.
        expectTypeOf(ctx.upstream.count).toEqualTypeOf<{ day: string; at: string }[]>();
        return ctx.upstream.count.length;
      });
    expectTypeOf<DagOutputs<typeof pipeline>['count']>().toEqualTypeOf<{ day: string; at: string }[]>();
    expect(pipeline.tasks.find((t) => t.id === 'count')?.spec.upstream).toEqual(['list_days']);
  });

  it('types a literal list and maps operators with fixed (partial) options', () => {
    const pipeline = dag({ ...base, id: 'data_lake__mapped_operators' })
      .task('list_prefixes', {}, async () => ['dt=2026-01-01/', 'dt=2026-01-02/'])
      .expand('copy', { over: 'list_prefixes', pool: 'redshift' }, (prefix) =>
        redshiftCopy({
          target: warehouse,
          table: 'staging.events',
          from: `s3://lake-raw/events/${prefix}`,
          iamRole: 'arn:aws:iam::123456789012:role/redshift-copy',
          format: { type: 'json' },
        }),
      )
      .expand('crawl', { over: ['events', 'orders'] }, (name) => {
        expectTypeOf(name).toEqualTypeOf<string>();
        return glueCrawler({ name: `lake_${name}` });
      })
      .expand('publish', { over: ['a/', 'b/'] }, (folder) =>
        s3Sync({ from: `s3://lake-curated/${folder}`, to: `s3://lake-public/${folder}` }),
      )
      .expand('wait_for_stream', { over: ['clicks', 'views'] }, (stream) =>
        streamQuiescence({
          source: { s3: `s3://lake-raw/${stream}/`, timeOrderedKeys: true },
          window: '5m',
          timeout: '1h',
        }),
      )
      .task('done', { upstream: ['copy', 'wait_for_stream'] }, async (ctx) => {
        expectTypeOf(ctx.upstream.copy).toEqualTypeOf<RedshiftCopyOutput[]>();
        expectTypeOf(ctx.upstream.wait_for_stream).toBeArray();
      });
    expect(pipeline.tasks.map((t) => [t.id, t.mapping ? 'mapped' : 'plain'])).toEqual([
      ['list_prefixes', 'plain'],
      ['copy', 'mapped'],
      ['crawl', 'mapped'],
      ['publish', 'mapped'],
      ['wait_for_stream', 'mapped'],
      ['done', 'plain'],
    ]);
  });

  it('rejects a wrong element type, and a source that is not a list, at compile time', () => {
    const d = dag({ ...base, id: 'data_lake__mapped_errors' })
      .task('numbers', {}, async () => [1, 2, 3])
      .task('single', {}, async () => 'not a list');
    // @ts-expect-error the elements of `numbers` are numbers, not strings
    d.expand('upper', { over: 'numbers' }, (text: string) => async () => text.toUpperCase());
    d.expand('double', { over: 'numbers' }, (n) => async () => {
      // @ts-expect-error `n` is a number
      n.toUpperCase();
      return n * 2;
    });
    // @ts-expect-error `single` outputs a string, which is not a list to map over
    d.expand('each', { over: 'single' }, () => async () => 1);
    // @ts-expect-error `nope` is no task of this DAG
    d.expand('each', { over: 'nope' }, () => async () => 1);
    expect(d.tasks).toHaveLength(2);
  });

  it('under a rule that lets a mapped upstream fail, a downstream gets the list or null', () => {
    dag({ ...base, id: 'data_lake__mapped_rule' })
      .expand('each', { over: [1, 2] }, (n) => async () => n)
      .task('after', { upstream: ['each'], triggerRule: 'all_done' }, async (ctx) => {
        expectTypeOf(ctx.upstream.each).toEqualTypeOf<number[] | null>();
      });
  });

  it('refuses bad mapping options when the DAG is defined, naming the DAG, task and field', () => {
    const d = dag({ ...base, id: 'data_lake__mapped_bad' });
    const attempt = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return error as DagDefinitionError;
      }
      throw new Error('expected a DagDefinitionError');
    };
    const tooLong = attempt(() => d.expand('each', { over: [1, 2, 3], maxMapLength: 2 }, (n) => async () => n));
    expect(tooLong).toBeInstanceOf(DagDefinitionError);
    expect(tooLong.message).toBe(
      'DAG "data_lake__mapped_bad", task "each": field "over": the list has 3 elements, more than maxMapLength 2',
    );
    expect(tooLong.field).toBe('over');
    const ceiling = attempt(() => d.expand('each', { over: [1], maxMapLength: 10_000_000 }, (n) => async () => n));
    expect(ceiling.message).toBe(
      'DAG "data_lake__mapped_bad", task "each": field "maxMapLength": must be at most 10,000',
    );
    const badItem = attempt(() => d.expand('crawl', { over: ['ok', ''] }, (name) => glueCrawler({ name })));
    expect(badItem.message).toMatch(/^DAG "data_lake__mapped_bad", task "crawl": field "over", element 1: .*name/);
    const notOperator = attempt(() => d.expand('each', { over: [1] }, () => 42 as never));
    expect(notOperator.message).toBe(
      'DAG "data_lake__mapped_bad", task "each": field "over", element 0: build must return an operator (an object with run or poke) or a function',
    );
    const badOver = attempt(() => d.expand('each', { over: 5 as never }, () => async () => 1));
    expect(badOver.message).toBe(
      'DAG "data_lake__mapped_bad", task "each": field "over": must be the id of an upstream task whose output is a list, or a list',
    );
  });
});
