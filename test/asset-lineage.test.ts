import { describe, expect, it } from 'vitest';
import { asset, dag } from 'runway';
import { assetCycles, assetLineage, unproducedAssets } from '../runner/core/asset-lineage.ts';
import { summarizeDag } from '../runner/core/dag-summary.ts';
import { manualDag } from './helpers/runway.ts';
import { runCli } from './helpers/run-cli.ts';

const a = asset('s3://lake-raw/a/');
const b = asset('s3://lake-raw/b/');
const c = asset('s3://lake-raw/c/');
const writes = (id: string, outlets: (typeof a)[], schedule: (typeof a)[] | null = null) =>
  summarizeDag(dag({ ...manualDag, id, schedule }).task('write', { outlets }, async () => null));

describe('asset lineage', () => {
  it('says which DAGs and tasks update each asset, and which DAGs run on it', () => {
    const lineage = assetLineage([writes('data_lake__p', [a, b]), writes('data_lake__q', [c], [a])]);
    expect(lineage).toEqual([
      { uri: a.uri, producers: [{ dagId: 'data_lake__p', taskId: 'write' }], consumers: ['data_lake__q'] },
      { uri: b.uri, producers: [{ dagId: 'data_lake__p', taskId: 'write' }], consumers: [] },
      { uri: c.uri, producers: [{ dagId: 'data_lake__q', taskId: 'write' }], consumers: [] },
    ]);
  });

  it('finds a cycle of three DAGs through assets, naming each DAG and asset in order', () => {
    const dags = [writes('data_lake__x', [a], [c]), writes('data_lake__y', [b], [a]), writes('data_lake__z', [c], [b])];
    const problems = assetCycles(dags);
    expect(problems.map((p) => p.dagId).sort()).toEqual(['data_lake__x', 'data_lake__y', 'data_lake__z']);
    expect(problems[0]!.message).toContain('data_lake__x -> data_lake__y (via s3://lake-raw/a/)');
    expect(problems[0]!.message).toContain('data_lake__z -> data_lake__x (via s3://lake-raw/c/)');
    expect(assetCycles([writes('data_lake__x', [a]), writes('data_lake__y', [b], [a])])).toEqual([]);
  });

  it('finds a DAG that runs on an asset it updates itself', () => {
    expect(assetCycles([writes('data_lake__self', [a], [a])])).toEqual([
      expect.objectContaining({ dagId: 'data_lake__self', rule: 'asset-cycle' }),
    ]);
  });

  it('warns of a consumer of an asset nothing updates', () => {
    expect(unproducedAssets([writes('data_lake__q', [], [a, b]), writes('data_lake__p', [a])])).toEqual([
      expect.objectContaining({
        dagId: 'data_lake__q',
        rule: 'asset-without-producer',
        message: expect.stringContaining(b.uri),
      }),
    ]);
  });
});

describe('runway validate on assets', () => {
  it('fails on a cycle through assets, naming both files and DAGs', async () => {
    const run = await runCli(['validate', 'test/fixtures/asset-cycle']);
    expect(run.code).toBe(1);
    for (const id of ['data_lake__cycle_a', 'data_lake__cycle_b']) {
      expect(run.stdout).toContain(
        `test/fixtures/asset-cycle/${id}.ts: DAG ${id}: is in a cycle of DAGs through assets`,
      );
    }
    expect(run.stdout).toContain('data_lake__cycle_b -> data_lake__cycle_a (via s3://lake-raw/b/)');
  });

  it('passes with a warning on a consumer of an asset nothing produces, also in GitHub and JSON formats', async () => {
    const human = await runCli(['validate', 'test/fixtures/asset-orphan']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(
      'warning: test/fixtures/asset-orphan/data_lake__orphan.ts: DAG data_lake__orphan: runs on asset s3://lake-raw/nobody-writes/',
    );
    const github = await runCli(['validate', 'test/fixtures/asset-orphan', '--format', 'github']);
    expect(github.stdout).toMatch(/^::warning file=test\/fixtures\/asset-orphan\/data_lake__orphan.ts,/m);
    const json = JSON.parse((await runCli(['validate', 'test/fixtures/asset-orphan', '--format', 'json'])).stdout);
    expect(json).toMatchObject({ ok: true, problems: [], warnings: [{ rule: 'asset-without-producer' }] });
  });
});
