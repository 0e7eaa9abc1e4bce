/**
 * The web server's API, health and metrics, against a real engine and worker on Redis: what the
 * UI reads and the actions it takes (trigger with params, clear, mark, pause), and the token rule.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { callWeb } from './helpers/web-client.ts';
import { z } from 'zod';
import { dag } from 'runway';
import { startWebServer, WebServerConfigError, type WebServer } from '../runner/web/server.ts';
import { manualDag, redisUrl, testRunway, type TestRunway } from './helpers/runway.ts';
import { runCli } from './helpers/run-cli.ts';
import { killAllServices, startService, until } from './helpers/services.ts';

let runway: TestRunway;
let web: WebServer | undefined;
afterEach(async () => {
  await web?.close();
  web = undefined;
  await runway?.close();
});

const reporting = dag({
  ...manualDag,
  id: 'data_lake__web',
  params: z.object({ region: z.enum(['eu', 'us']).default('eu'), fullRefresh: z.boolean().default(false) }),
})
  .task('extract', {}, async (ctx) => {
    ctx.log.info(`extracting ${ctx.params.region}`);
    return { region: ctx.params.region, rows: 42 };
  })
  .task('report', { upstream: ['extract'] }, async (ctx) => ({ total: ctx.upstream.extract.rows }));

/** A same-origin client, as the page is. */
const call = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
  callWeb(web!.url, path, body, headers);

describe('web API', () => {
  it('lists DAGs, triggers with checked params, shows the grid, logs and output, clears and marks', async () => {
    runway = testRunway([reporting]);
    runway.worker();
    web = await startWebServer(runway.engine, {
      port: 0,
      problems: () => [{ file: 'dags/broken.ts', rule: 'import-error', message: 'SyntaxError: x' }],
    });

    const list = await call('/api/dags');
    expect(list.status).toBe(200);
    expect(list.json).toMatchObject({
      dags: [{ dagId: 'data_lake__web', paused: false, schedule: null, recentRuns: [] }],
      importErrors: [{ file: 'dags/broken.ts', message: 'SyntaxError: x' }],
    });

    const refused = await call('/api/dags/data_lake__web/trigger', { conf: { region: 'mars' } });
    expect(refused.status).toBe(400);
    expect((refused.json as { error: string }).error).toMatch(
      /--conf field "region": Invalid option: expected one of "eu"\|"us"; no run was created/,
    );

    const created = await call('/api/dags/data_lake__web/trigger', { conf: { region: 'us' } });
    expect(created.status).toBe(201);
    const { runId } = created.json as { runId: string };
    const grid = await until('the run to succeed in the grid', async () => {
      const g = (await call('/api/dags/data_lake__web/grid')).json as {
        tasks: { id: string }[];
        params: { properties: Record<string, unknown> };
        runs: { runId: string; state: string; tasks: Record<string, string> }[];
      };
      return g.runs[0]?.state === 'success' ? g : undefined;
    });
    expect(grid.tasks.map((t) => t.id)).toEqual(['extract', 'report']);
    expect(grid.runs[0]).toMatchObject({ runId, tasks: { extract: 'success', report: 'success' } });
    expect(Object.keys(grid.params.properties)).toEqual(['region', 'fullRefresh']);

    const task = await call(`/api/dags/data_lake__web/runs/${encodeURIComponent(runId)}/tasks/extract`);
    expect(task.json).toMatchObject({ try: 1, output: { region: 'us', rows: 42 }, taskInstance: { state: 'success' } });
    expect((task.json as { logs: string[] }).logs.join('\n')).toContain('extracting us');

    const marked = await call(`/api/dags/data_lake__web/runs/${encodeURIComponent(runId)}/tasks/report/mark`, {
      state: 'failed',
    });
    expect(marked.status).toBe(200);
    const run = await call(`/api/dags/data_lake__web/runs/${encodeURIComponent(runId)}`);
    expect(run.json).toMatchObject({ run: { state: 'failed' }, taskInstances: { report: { state: 'failed' } } });

    const cleared = await call(`/api/dags/data_lake__web/runs/${encodeURIComponent(runId)}/clear`, { task: 'report' });
    expect(cleared.json).toEqual({ cleared: ['report'] });
    await until('the cleared task to succeed again', async () => {
      const r = (await call(`/api/dags/data_lake__web/runs/${encodeURIComponent(runId)}`)).json as {
        run: { state: string };
      };
      return r.run.state === 'success' ? true : undefined;
    });

    expect((await call('/api/dags/data_lake__web/pause', { paused: true })).json).toEqual({
      dagId: 'data_lake__web',
      paused: true,
    });
    expect((await call('/api/dags')).json).toMatchObject({ dags: [{ paused: true }] });
  });

  it('tells open pages to refresh when runs change, and stays quiet while nothing does', async () => {
    runway = testRunway([reporting]);
    web = await startWebServer(runway.engine, { port: 0 });
    const response = await fetch(`${web.url}/api/events`);
    const reader = response.body!.getReader();
    let refreshes = 0;
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        refreshes += Buffer.from(value).toString().split('event: refresh').length - 1;
      }
    })();

    // Quiet: three ticks of the server's one-second poll, and no refresh.
    await new Promise((r) => setTimeout(r, 3_200));
    expect(refreshes).toBe(0);

    await runway.trigger('data_lake__web');
    await until('a refresh after the trigger', async () => (refreshes > 0 ? true : undefined), 5_000);
    await reader.cancel();
    await reading;
  });

  it('answers bad requests with a status and a reason', async () => {
    runway = testRunway([reporting]);
    web = await startWebServer(runway.engine, { port: 0 });
    expect(await call('/api/dags/data_lake__nope/grid')).toEqual({
      status: 404,
      json: { error: 'no DAG "data_lake__nope" is loaded' },
    });
    expect(await call('/api/dags/data_lake__web/pause', { paused: 'yes' })).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/^paused: /) },
    });
    expect(await call('/api/dags/data_lake__web/runs/none/tasks/extract/mark', { state: 'success' })).toMatchObject({
      status: 400,
      json: { error: 'DAG "data_lake__web" has no run "none" (see `runway runs list data_lake__web`)' },
    });
    const notJson = await call('/api/dags/data_lake__web/trigger', undefined);
    expect(notJson.status).toBe(404); // a GET of an action
    const csrfToken = ((await (await fetch(`${web.url}/api/csrf`)).json()) as { csrfToken: string }).csrfToken;
    const malformed = await fetch(`${web.url}/api/dags/data_lake__web/trigger`, {
      method: 'POST',
      body: '{',
      headers: { origin: web.url, 'content-type': 'application/json', 'x-runway-csrf': csrfToken },
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ error: 'the request body is not JSON' });
  });
});

describe('health and metrics', () => {
  it('serves /healthz, /readyz and Prometheus metrics of tasks, runs and queues', async () => {
    runway = testRunway([reporting]);
    runway.worker();
    web = await startWebServer(runway.engine, { port: 0, ui: false });
    expect(await call('/healthz')).toEqual({ status: 200, json: { status: 'ok' } });
    expect(await call('/readyz')).toEqual({ status: 200, json: { status: 'ready' } });
    const run = await runway.trigger('data_lake__web');
    await runway.waitForRun('data_lake__web', run.runId);
    const scraped = await call('/metrics');
    const metrics = scraped.json as string;
    expect(metrics).toMatch(
      /runway_task_duration_seconds_count\{dag_id="data_lake__web",task_id="extract",state="success"\} [1-9]/,
    );
    expect(metrics).toMatch(/runway_dag_runs\{dag_id="data_lake__web",state="success"\} 1/);
    expect(metrics).toMatch(/runway_queue_jobs\{queue="default",state="waiting"\} 0/);
    expect(metrics).toContain('# TYPE runway_scheduler_lag_seconds histogram');
    expect(metrics).toContain('# TYPE runway_sensor_pokes_total counter');
    // Health only: no UI and no API here.
    expect((await call('/api/dags')).status).toBe(404);
  });
});

describe('the token', () => {
  it('is required to bind beyond loopback, and then on every request but health', async () => {
    runway = testRunway([reporting]);
    await expect(startWebServer(runway.engine, { host: '0.0.0.0', port: 0 })).rejects.toThrow(WebServerConfigError);
    web = await startWebServer(runway.engine, { host: '0.0.0.0', port: 0, token: 's3cret-token' });
    web = { ...web, url: web.url.replace('0.0.0.0', '127.0.0.1') };
    expect((await call('/api/dags')).status).toBe(401);
    expect((await call('/metrics')).status).toBe(401);
    expect((await call('/api/dags', undefined, { authorization: 'Bearer wrong-token!' })).status).toBe(401);
    expect((await call('/api/dags', undefined, { authorization: 'Bearer s3cret-token' })).status).toBe(200);
    expect((await call('/?token=s3cret-token')).status).toBe(200);
    expect((await call('/healthz')).status).toBe(200);
  });
});

describe('the services', () => {
  it('serve health and metrics on --health-port, and the webserver refuses to bind beyond loopback without a token', async () => {
    const worker = startService([
      'worker',
      '--dags',
      'test/fixtures/runner-dags',
      '--redis-url',
      redisUrl(),
      '--health-port',
      '0',
    ]);
    try {
      await worker.waitFor(/health and metrics on port \d+, all interfaces/);
      const port = /health and metrics on port (\d+)/.exec(worker.output())![1];
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toContain(
        '# TYPE runway_task_duration_seconds histogram',
      );
    } finally {
      killAllServices();
    }
    const open = await runCli(['webserver', '--host', '0.0.0.0', '--redis-url', redisUrl()]);
    expect(open.code).toBe(2);
    expect(open.stderr).toContain(
      'the web server is bound to 0.0.0.0, beyond this machine: set a token (--token or RUNWAY_WEB_TOKEN)',
    );
  }, 120_000);
});
