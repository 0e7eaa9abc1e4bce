/**
 * `/api/dags` lists every DAG the folder defines, with its state: running ones (active, or paused
 * by a user), held ones (standalone without AWS credentials), and files that do not load, with the
 * message; and a trigger no worker will take says so.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { callWeb } from './helpers/web-client.ts';
import { dag } from 'runway';
import { prepareDag, type HeldDag } from '../runner/loader/dag-registry.ts';
import { startWebServer, type WebServer } from '../runner/web/server.ts';
import type { Problem } from '../runner/core/problem.ts';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';
import { until } from './helpers/services.ts';

let runway: TestRunway;
let web: WebServer | undefined;
afterEach(async () => {
  await web?.close();
  web = undefined;
  await runway?.close();
});

const active = dag({ ...manualDag, id: 'data_lake__states_active' }).task('one', {}, async () => 1);
const pausedByUser = dag({ ...manualDag, id: 'data_lake__states_paused' }).task('one', {}, async () => 1);
const redshift = dag({ ...manualDag, id: 'redshift_demo__states_held' }).task('load', {}, async () => 1);
const onOtherQueue = dag({ ...manualDag, id: 'data_lake__states_queue' }).task(
  'load',
  { queue: 'redshift' },
  async () => 1,
);

const problems: Problem[] = [
  // The last good version of data_lake__states_active runs; its file is broken now.
  {
    file: 'dags/data_lake__states_active.ts',
    line: 7,
    dagId: 'data_lake__states_active',
    rule: 'import-error',
    message: 'Unexpected ";"; the previous version keeps running',
  },
  // A DAG whose file fails a check: its id is known, it does not load.
  {
    file: 'dags/data_lake__states_cycle.ts',
    line: 3,
    dagId: 'data_lake__states_cycle',
    rule: 'cycle',
    message: 'a -> b -> a',
  },
  // A file that does not import at all: no DAG id to list it under.
  { file: 'dags/broken.ts', rule: 'import-error', message: 'SyntaxError: x' },
];

/** A same-origin client, as the page is. */
const call = (path: string, body?: unknown) => callWeb(web!.url, path, body);

describe('/api/dags', () => {
  it('lists paused, held and broken DAGs with their state and message; a held one has a grid but no trigger', async () => {
    runway = testRunway([active, pausedByUser]);
    await runway.engine.store.setPaused('data_lake__states_paused', true);
    const held: HeldDag[] = [{ loaded: prepareDag(redshift), reason: 'needs AWS credentials' }];
    web = await startWebServer(runway.engine, { port: 0, problems: () => problems, held: () => held });

    const list = await call('/api/dags');
    expect(list.status).toBe(200);
    const { dags, importErrors } = list.json as { dags: Record<string, unknown>[]; importErrors: unknown[] };
    expect(dags.map((d) => [d.dagId, d.state, d.stateReason])).toEqual([
      ['data_lake__states_active', 'active', null],
      ['data_lake__states_cycle', 'import_error', 'a -> b -> a'],
      ['data_lake__states_paused', 'paused', 'paused by a user (or pausedOnCreation)'],
      ['redshift_demo__states_held', 'held', 'needs AWS credentials'],
    ]);
    expect(dags[0]).toMatchObject({
      importError: {
        file: 'dags/data_lake__states_active.ts',
        line: 7,
        message: 'Unexpected ";"; the previous version keeps running',
      },
    });
    expect(dags[3]).toMatchObject({ paused: true, owner: 'data-platform', nextRunDue: null, importError: null });
    expect(importErrors).toHaveLength(3);

    // A held DAG: its grid shows, with why it does not run; triggering it is refused with the reason.
    const grid = await call('/api/dags/redshift_demo__states_held/grid');
    expect(grid.status).toBe(200);
    expect(grid.json).toMatchObject({ dagId: 'redshift_demo__states_held', held: 'needs AWS credentials', runs: [] });
    expect(await call('/api/dags/redshift_demo__states_held/trigger', {})).toEqual({
      status: 409,
      json: { error: 'DAG "redshift_demo__states_held" is not run here: needs AWS credentials' },
    });
    expect(await call('/api/dags/data_lake__states_cycle/grid')).toEqual({
      status: 409,
      json: { error: 'DAG "data_lake__states_cycle" does not load: dags/data_lake__states_cycle.ts:3: a -> b -> a' },
    });
  });

  it('holds a DAG whose new version is held though the old one was loaded, and starts nothing for a removed DAG', async () => {
    runway = testRunway([active, redshift]);
    // A reload found the held DAG's new version needs AWS credentials: the registry keeps the old one, retired.
    runway.engine.registry.retire('redshift_demo__states_held');
    const held: HeldDag[] = [{ loaded: prepareDag(redshift), reason: 'needs AWS credentials' }];
    web = await startWebServer(runway.engine, { port: 0, held: () => held });
    expect((await call('/api/dags/redshift_demo__states_held/grid')).json).toMatchObject({
      held: 'needs AWS credentials',
    });
    expect(await call('/api/dags/redshift_demo__states_held/trigger', {})).toEqual({
      status: 409,
      json: { error: 'DAG "redshift_demo__states_held" is not run here: needs AWS credentials' },
    });

    // Removed from the folder: its runs stay readable, but nothing new starts.
    runway.engine.registry.retire('data_lake__states_active');
    expect((await call('/api/dags/data_lake__states_active/grid')).status).toBe(200);
    expect(await call('/api/dags/data_lake__states_active/trigger', {})).toEqual({
      status: 409,
      json: {
        error: 'DAG "data_lake__states_active" was removed from the DAG folder: its runs finish, no new ones start',
      },
    });
    expect(await runway.engine.store.listRuns('data_lake__states_active', 10)).toEqual([]);
  });

  it('answers a trigger with its run when the no-worker check fails afterwards', async () => {
    runway = testRunway([active]);
    web = await startWebServer(runway.engine, { port: 0 });
    // The workers' index is unreadable (the wrong type): the check fails, the run was made all the same.
    await runway.engine.redis.set(`${runway.prefix}:workers`, 'not a sorted set');
    const triggered = await call('/api/dags/data_lake__states_active/trigger', {});
    expect(triggered.status).toBe(201);
    expect(triggered.json).toMatchObject({ dagId: 'data_lake__states_active', created: true, warning: null });
    expect(await runway.engine.store.listRuns('data_lake__states_active', 10)).toHaveLength(1);
  });

  it('says at trigger time, in the list and in the grid that no worker will take the run, until one does', async () => {
    runway = testRunway([active, onOtherQueue]);
    web = await startWebServer(runway.engine, { port: 0 });

    const noWorker = await call('/api/dags/data_lake__states_active/trigger', {});
    expect(noWorker.status).toBe(201);
    expect((noWorker.json as { warning: string }).warning).toMatch(/^no worker is running/);
    const listed = (await call('/api/dags')).json as { dags: { dagId: string; warning: string | null }[] };
    expect(listed.dags.find((d) => d.dagId === 'data_lake__states_active')!.warning).toMatch(/^no worker is running/);
    expect(((await call('/api/dags/data_lake__states_active/grid')).json as { warning: string }).warning).toMatch(
      /^no worker is running/,
    );

    // A worker on the default queue: the waiting run goes through, and the next trigger is quiet.
    runway.worker();
    const first = (noWorker.json as { runId: string }).runId;
    await runway.waitForRun('data_lake__states_active', first);
    const withWorker = await call('/api/dags/data_lake__states_active/trigger', {});
    expect((withWorker.json as { warning: string | null }).warning).toBeNull();

    // Its tasks use a queue no worker takes.
    const otherQueue = await call('/api/dags/data_lake__states_queue/trigger', {});
    expect((otherQueue.json as { warning: string }).warning).toBe(
      'no worker with DAG "data_lake__states_queue" takes queue "redshift": those tasks wait until one does (`runway worker --queues redshift`)',
    );
    await until('the grid to say the run waits', async () => {
      const g = (await call('/api/dags/data_lake__states_queue/grid')).json as { warning: string | null };
      return g.warning?.includes('takes queue "redshift"') ? true : undefined;
    });
  });
});
