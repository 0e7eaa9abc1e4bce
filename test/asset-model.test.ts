import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  allOf,
  anyOf,
  asset,
  AssetUriError,
  dag,
  DagDefinitionError,
  redshiftTableAsset,
  s3PrefixAsset,
  type AssetEvent,
  type TaskContext,
} from 'runway';
import {
  conditionJson,
  describeCondition,
  extraJson,
  isSatisfied,
  MAX_EXTRA_BYTES,
  taskAssets,
} from '../runner/core/asset.ts';
import { summarizeDag } from '../runner/core/dag-summary.ts';
import { manualDag } from './helpers/runway.ts';

const codeOf = (uri: unknown) => {
  try {
    asset(uri as string);
  } catch (error) {
    expect(error).toBeInstanceOf(AssetUriError);
    return (error as AssetUriError).code;
  }
  return 'accepted';
};

describe('asset URIs', () => {
  it('accepts the URIs of the data a pipeline touches', () => {
    for (const uri of [
      's3://lake-raw/events/',
      's3://lake-raw/events/dt=2026-03-01/part-0.json',
      'redshift://analytics/dev/public/orders',
      'postgres://db.internal:5432/app/public.users',
      'gs://warehouse-exports/orders/',
    ]) {
      expect(codeOf(uri), uri).toBe('accepted');
    }
  });

  it('refuses hostile or meaningless URIs, each with the rule it breaks', () => {
    expect(codeOf(42)).toBe('not-a-string');
    expect(codeOf('lake-raw/events/')).toBe('no-scheme');
    expect(codeOf('S3://lake-raw/events/')).toBe('no-scheme');
    expect(codeOf('s3:///events/')).toBe('no-scheme');
    expect(codeOf('s3://lake raw/events/')).toBe('whitespace');
    expect(codeOf('s3://lake-raw/events/\nINJECTED')).toBe('whitespace');
    expect(codeOf('s3://lake-raw/\u0000')).toBe('whitespace');
    expect(codeOf('postgres://admin:hunter2@db/app')).toBe('credentials');
    expect(codeOf('s3://lake-raw/events/../secrets/')).toBe('dot-segment');
    expect(codeOf('s3://Lake_Raw/events/')).toBe('s3-bucket');
    expect(codeOf('s3://ab/events/')).toBe('s3-bucket');
    expect(codeOf(`s3://lake-raw/${'x'.repeat(1_000)}`)).toBe('too-long');
  });

  it('says what is wrong in the message, without echoing a huge URI', () => {
    expect(() => asset('postgres://admin:hunter2@db/app')).toThrow(/carries credentials/);
    const huge = `s3://lake-raw/${'x'.repeat(100_000)}`;
    try {
      asset(huge);
    } catch (error) {
      expect((error as Error).message.length).toBeLessThan(400);
    }
  });

  it('has typed helpers for S3 prefixes and Redshift tables that normalise what is one asset', () => {
    expect(s3PrefixAsset({ bucket: 'lake-raw', prefix: 'events' }).uri).toBe('s3://lake-raw/events/');
    expect(s3PrefixAsset({ bucket: 'lake-raw', prefix: '/events/' }).uri).toBe('s3://lake-raw/events/');
    expect(redshiftTableAsset({ cluster: 'analytics', database: 'dev', schema: 'Public', table: 'Orders' }).uri).toBe(
      'redshift://analytics/dev/public/orders',
    );
    expect(() => s3PrefixAsset({ bucket: 'Not_A_Bucket', prefix: 'x/' })).toThrow(AssetUriError);
    expect(() =>
      redshiftTableAsset({ cluster: 'analytics', database: 'dev', schema: 'public', table: 'orders; drop table x' }),
    ).toThrow(/table "orders; drop table x" is not a Redshift table name/);
  });
});

describe('asset conditions', () => {
  const a = asset('s3://lake-raw/a/');
  const b = asset('s3://lake-raw/b/');
  const c = asset('s3://lake-raw/c/');

  it('a list means all of them; anyOf and allOf nest', () => {
    const all = conditionJson([a, b]);
    expect(isSatisfied(all, new Set([a.uri]))).toBe(false);
    expect(isSatisfied(all, new Set([a.uri, b.uri]))).toBe(true);
    const nested = conditionJson(anyOf(a, allOf(b, c)));
    expect(isSatisfied(nested, new Set([a.uri]))).toBe(true);
    expect(isSatisfied(nested, new Set([b.uri]))).toBe(false);
    expect(isSatisfied(nested, new Set([b.uri, c.uri]))).toBe(true);
    expect(describeCondition(nested)).toBe('s3://lake-raw/a/ OR (s3://lake-raw/b/ AND s3://lake-raw/c/)');
  });

  it('summarises an asset-scheduled DAG with no cron schedule, and each task its outlets', () => {
    const consumer = dag({ ...manualDag, id: 'data_lake__consumer', schedule: anyOf(a, b) })
      .task('read', { outlets: [c] }, async () => null)
      .task('plain', {}, async () => null);
    const summary = summarizeDag(consumer);
    expect(summary.schedule).toBeNull();
    expect(summary.assetSchedule).toEqual({ any: [{ uri: a.uri }, { uri: b.uri }] });
    expect(summary.tasks.map((t) => t.outlets)).toEqual([[c.uri], undefined]);
  });

  it('refuses a schedule or outlets that are not assets, naming the DAG, task and field', () => {
    const refused = (make: () => unknown) => {
      try {
        make();
      } catch (error) {
        expect(error).toBeInstanceOf(DagDefinitionError);
        return error as DagDefinitionError;
      }
      throw new Error('accepted');
    };
    const badSchedule = refused(() => dag({ ...manualDag, id: 'data_lake__x', schedule: [] }));
    expect(badSchedule.message).toMatch(/DAG "data_lake__x": field "schedule": is an empty list of assets/);
    const notAsset = refused(() => dag({ ...manualDag, id: 'data_lake__x', schedule: ['s3://lake-raw/a/'] as never }));
    expect(notAsset.message).toMatch(/lists something that is not an asset/);
    const deep = [a];
    let nested: Parameters<typeof anyOf>[0] = a;
    for (let i = 0; i < 12; i++) nested = anyOf(nested, a);
    expect(refused(() => dag({ ...manualDag, id: 'data_lake__x', schedule: nested })).message).toMatch(
      /nests deeper than 8 levels/,
    );
    const many = Array.from({ length: 51 }, (_, i) => asset(`s3://lake-raw/p${i}/`));
    expect(refused(() => dag({ ...manualDag, id: 'data_lake__x', schedule: many })).message).toMatch(
      /names 51 assets; at most 50/,
    );
    expect(refused(() => dag({ ...manualDag, id: 'data_lake__x', schedule: anyOf() })).message).toMatch(
      /has an empty anyOf\(\)/,
    );
    expect(
      refused(() => dag({ ...manualDag, id: 'data_lake__x', schedule: { all: deep, any: deep } as never })).message,
    ).toMatch(/is not an asset, a list of assets, allOf\(\) or anyOf\(\)/);
    expect(refused(() => dag({ ...manualDag, id: 'data_lake__x', schedule: 42 as never })).message).toMatch(
      /field "schedule": is not an asset/,
    );
    const badOutlet = refused(() =>
      dag({ ...manualDag, id: 'data_lake__x' }).task('t', { outlets: ['s3://lake-raw/a/' as never] }, async () => null),
    );
    expect(badOutlet.message).toMatch(/DAG "data_lake__x", task "t": field "outlets.0": must be an asset/);
    expect(badOutlet.field).toBe('outlets');
  });
});

describe('extras', () => {
  const raw = asset<{ partition: string }>('s3://lake-raw/events/');

  it('are JSON objects of at most 4 kB', () => {
    expect(extraJson(raw.uri, { partition: '2026-03-01', files: [] })).toBe('{"partition":"2026-03-01","files":[]}');
    expect(() => extraJson(raw.uri, 'x')).toThrow(/must be a JSON object/);
    expect(() => extraJson(raw.uri, { big: 'x'.repeat(MAX_EXTRA_BYTES) })).toThrow(/at most 4096/);
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => extraJson(raw.uri, loop)).toThrow(/is not JSON/);
  });

  it('are set only on the task’s own outlets', () => {
    const extras = new Map<string, string>();
    const assets = taskAssets([], [raw], extras);
    assets.setExtra(raw, { partition: '2026-03-01' });
    expect(extras.get(raw.uri)).toBe('{"partition":"2026-03-01"}');
    expect(() => assets.setExtra(asset('s3://lake-raw/other/'), {})).toThrow(/is not an outlet of this task/);
  });

  it('type a consumer’s triggering events by the asset', () => {
    const assets: TaskContext['assets'] = taskAssets([], [raw], new Map());
    expectTypeOf(assets.of(raw)).toEqualTypeOf<readonly AssetEvent<{ partition: string }>[]>();
    expectTypeOf(assets.setExtra<{ partition: string }>)
      .parameter(1)
      .toEqualTypeOf<{ partition: string }>();
  });
});
