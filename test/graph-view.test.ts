/**
 * What the graph view's API draws for a DAG that uses every authoring feature: a task group as a box
 * around its members, a mapped task as one box saying how many of its indexes are done, and the
 * assets the DAG runs on and updates as nodes joined to its tasks. Run for real (Redis, a worker),
 * so the states and the mapped count come from a finished run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { asset, dag } from 'runway';
import { graphView } from '../runner/web/graph-view.ts';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';

const raw = asset('s3://lake-raw/orders/');
const curated = asset('s3://lake-curated/orders/');

let runway: TestRunway | undefined;
afterEach(async () => {
  await runway?.close();
  runway = undefined;
});

describe('the graph view of a DAG', () => {
  it('draws groups around their tasks, a mapped task with its indexes done, and its assets in and out', async () => {
    const consumer = dag({ ...manualDag, id: 'data_lake__graph_kinds', schedule: [raw] })
      .task('list_days', {}, async () => ['d1', 'd2', 'd3'])
      .expand('count', { over: 'list_days' }, (day) => async () => day.length)
      .group('load', { upstream: ['count'] }, (g) =>
        g.task('stage', {}, async () => 'staged').task('merge', { upstream: ['load.stage'] }, async () => 1),
      )
      .task('publish', { upstream: ['load'], outlets: [curated] }, async () => null);
    runway = testRunway([consumer]);
    runway.worker();
    const run = await runway.trigger('data_lake__graph_kinds');
    expect((await runway.waitForRun('data_lake__graph_kinds', run.runId)).state).toBe('success');

    const graph = await graphView(runway.engine, 'data_lake__graph_kinds', run.runId);
    const node = (id: string) => {
      const found = graph.nodes.find((n) => n.id === id);
      if (!found) throw new Error(`no node ${id} in ${graph.nodes.map((n) => n.id).join(', ')}`);
      return found;
    };

    expect(node('group:load')).toMatchObject({ kind: 'group', state: null });
    for (const member of ['task:load.stage', 'task:load.merge']) {
      const box = node(member);
      const group = node('group:load');
      expect(box).toMatchObject({ parent: 'group:load', state: 'success' });
      expect(box.x).toBeGreaterThanOrEqual(group.x);
      expect(box.y).toBeGreaterThanOrEqual(group.y);
      expect(box.x + box.width).toBeLessThanOrEqual(group.x + group.width);
      expect(box.y + box.height).toBeLessThanOrEqual(group.y + group.height);
    }
    expect(node('task:count')).toMatchObject({
      kind: 'mapped',
      label: 'count [3/3]',
      taskId: 'count',
      state: 'success',
    });
    expect(node('task:list_days').parent).toBeUndefined();

    expect(node(`asset:${raw.uri}`)).toMatchObject({ kind: 'asset', label: raw.uri, state: null });
    expect(node(`asset:${curated.uri}`)).toMatchObject({ kind: 'asset', label: curated.uri });
    const edges = graph.edges.map((e) => `${e.from} -> ${e.to}`);
    expect(edges).toEqual(
      expect.arrayContaining([
        `asset:${raw.uri} -> task:list_days`,
        'task:publish -> asset:s3://lake-curated/orders/',
        'task:list_days -> task:count',
        'task:load.merge -> task:publish',
      ]),
    );
    // The asset the DAG runs on feeds its roots only.
    expect(edges.filter((e) => e.startsWith(`asset:${raw.uri}`))).toEqual([`asset:${raw.uri} -> task:list_days`]);
  });
});
