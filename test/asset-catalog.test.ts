import { afterEach, describe, expect, it } from 'vitest';
import { asset, dag } from 'runway';
import { manualDag, redisUrl, testRunway, type TestRunway } from './helpers/runway.ts';
import { runCli } from './helpers/run-cli.ts';
import { AssetTrigger } from '../runner/services/asset-trigger.ts';
import { startWebServer, type WebServer } from '../runner/web/server.ts';

const rawEvents = asset<{ partition: string }>('s3://lake-raw/events/');
const base = { ...manualDag, tags: ['data-lake'] };

let runway: TestRunway;
let web: WebServer | undefined;
afterEach(async () => {
  await web?.close();
  web = undefined;
  await runway?.close();
});

function pipeline() {
  const land = dag({ ...base, id: 'data_lake__land' }).task('land', { outlets: [rawEvents] }, async (ctx) => {
    ctx.assets.setExtra(rawEvents, { partition: ctx.ds });
  });
  const transform = dag({ ...base, id: 'data_lake__transform', schedule: [rawEvents] }).task(
    'transform',
    {},
    async () => null,
  );
  return [land, transform];
}

describe('assets in the web API', () => {
  it('lists assets with their producers, consumers and last event; shows one asset’s events; 404 for an unknown one', async () => {
    runway = testRunway(pipeline());
    runway.worker();
    const run = await runway.trigger('data_lake__land', {}, new Date('2026-03-01T00:00:00Z'));
    await runway.waitForRun('data_lake__land', run.runId);
    web = await startWebServer(runway.engine, { port: 0 });
    const get = async (path: string) => {
      const response = await fetch(`${web!.url}${path}`);
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };
    const list = await get('/api/assets');
    expect(list.json.assets).toEqual([
      {
        uri: rawEvents.uri,
        producers: [{ dagId: 'data_lake__land', taskId: 'land' }],
        consumers: ['data_lake__transform'],
        lastEvent: expect.objectContaining({ sourceRunId: run.runId, extra: { partition: '2026-03-01' } }),
      },
    ]);
    const detail = await get(`/api/assets?uri=${encodeURIComponent(rawEvents.uri)}`);
    expect(detail.json.events).toEqual([
      expect.objectContaining({ sourceDagId: 'data_lake__land', sourceTaskId: 'land' }),
    ]);
    expect(await get(`/api/assets?uri=${encodeURIComponent('s3://lake-raw/nothing/')}`)).toEqual({
      status: 404,
      json: { error: 'no asset "s3://lake-raw/nothing/": no DAG names it and it has had no event' },
    });
    expect((await get('/api/assets?uri=x&limit=0')).status).toBe(400);
    const grid = await get('/api/dags/data_lake__transform/grid');
    expect(grid.json.assets).toEqual({ schedule: { all: [{ uri: rawEvents.uri }] }, outlets: {} });
    const producerGrid = await get('/api/dags/data_lake__land/grid');
    expect(producerGrid.json.assets).toEqual({ schedule: null, outlets: { land: [rawEvents.uri] } });
    const dags = (await get('/api/dags')).json.dags as { dagId: string; schedule: string | null }[];
    expect(dags.find((d) => d.dagId === 'data_lake__transform')!.schedule).toBe(`assets: ${rawEvents.uri}`);
  });
});

describe('runway assets', () => {
  it('lists the assets of a DAG folder with their last event, and an asset’s events; exits 2 on an unknown asset', async () => {
    runway = testRunway([]);
    const trigger = new AssetTrigger(runway.engine);
    await trigger.events.record({ dagId: 'data_lake__p', runId: 'r1', taskId: 'land', generation: 0, tryNumber: 1 }, [
      {
        uri: 's3://lake-raw/events/',
        sourceDagId: 'data_lake__p',
        sourceRunId: 'r1',
        sourceTaskId: 'land',
        extraJson: '{"rows":7}',
      },
    ]);
    const flags = ['--dags', 'test/fixtures/asset-dags', '--redis-url', redisUrl(), '--prefix', runway.prefix];
    const list = await runCli(['assets', 'list', ...flags]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/s3:\/\/lake-raw\/clicks\/\s+-\s+data_lake__asset_all, data_lake__asset_any\s+-/);
    expect(list.stdout).toMatch(
      /s3:\/\/lake-raw\/events\/\s+-\s+data_lake__asset_all, data_lake__asset_any, data_lake__asset_one\s+\d{4}-.*\(data_lake__p\)/,
    );
    const events = await runCli(['assets', 'events', 's3://lake-raw/events/', ...flags]);
    expect(events.code).toBe(0);
    expect(events.stdout).toMatch(/1\s+\S+Z\s+data_lake__p\s+r1\s+land\s+\{"rows":7\}/);
    const unknown = await runCli(['assets', 'events', 's3://lake-raw/nothing/', ...flags]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no asset "s3://lake-raw/nothing/"');
    const badLimit = await runCli(['assets', 'events', 's3://lake-raw/events/', '--limit', '0', ...flags]);
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toContain('--limit must be a whole number from 1 to 1000');
  });
});

describe('runway dags test on a producer', () => {
  it('records its events in the test’s own Redis prefix and runs no DAG that consumes them', async () => {
    const run = await runCli([
      'dags',
      'test',
      'data_lake__pair_producer',
      '--dags',
      'test/fixtures/asset-pair',
      '--redis-url',
      redisUrl(),
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('producer landed');
    expect(run.stdout).not.toContain('CONSUMER RAN');
    expect(run.stdout).not.toContain('data_lake__pair_consumer');
  });
});
