/**
 * The graph view in headless Chromium: every task of a run drawn with its state's colour and every
 * edge, updated live as the run moves, a click on a task opening it. Saves a screenshot to
 * .runway/screenshots/graph.png.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { asset, dag } from 'runway';
import { startWebServer, type WebServer } from '../runner/web/server.ts';
import { launchChromium, UI_WAIT_MS } from './helpers/browser.ts';
import { ensureChromium } from './helpers/debian.ts';
import { REPO_ROOT } from './helpers/run-cli.ts';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';

// Functions Playwright runs in the page, where the DOM has these; this project's types have no DOM.
declare const getComputedStyle: (element: unknown) => { fill: string };
interface SvgPath {
  getTotalLength(): number;
}
interface PageElement {
  innerHTML: string;
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): PageElement[];
}
declare const document: { createElement(tag: string): PageElement; body: { append(element: PageElement): void } };

let runway: TestRunway | undefined;
let web: WebServer | undefined;
let browser: Browser | undefined;
beforeAll(() => {
  ensureChromium(); // once, before the tests: an apt-get install may take minutes
}, 300_000);
afterEach(async () => {
  release();
  await browser?.close();
  await web?.close();
  await runway?.close();
});

// `enrich` runs until the test lets it finish: the page must show it running, then done.
let release: () => void = () => undefined;
const gate = () => new Promise<void>((resolve) => (release = resolve));
let gated = gate();

const diamond = dag({ ...manualDag, id: 'data_lake__graph' })
  .task('extract', {}, async () => ({ rows: 3 }))
  .task('clean', { upstream: ['extract'] }, async () => {
    throw new Error('bad rows');
  })
  .task('enrich', { upstream: ['extract'] }, async () => {
    await gated;
    return { ok: true };
  })
  .task('load', { upstream: ['clean', 'enrich'] }, async () => ({ loaded: true }));

const EDGES = ['extract>clean', 'extract>enrich', 'clean>load', 'enrich>load'];

const nodeState = (page: Page, taskId: string) =>
  page.locator(`#graph [data-testid="graph-node-${taskId}"]`).getAttribute('data-state');

/** The colour the browser paints a node's box with, as the user sees it. */
const nodeFill = (page: Page, taskId: string) =>
  page.locator(`#graph [data-testid="graph-node-${taskId}"] rect`).evaluate((rect) => getComputedStyle(rect).fill);

describe('the graph view in Chromium', () => {
  it('draws each task coloured by its state and each edge, live, and a click opens the task', async () => {
    gated = gate();
    runway = testRunway([diamond]);
    runway.worker();
    web = await startWebServer(runway.engine, { port: 0 });
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    page.setDefaultTimeout(UI_WAIT_MS);
    const refused: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
    });

    // Before any run, the DAG's page draws the structure with no states.
    await page.goto(`${web.url}#/dags/data_lake__graph`);
    await page.locator('#graph').waitFor();
    expect(await page.locator('#graph .node').count()).toBe(4);
    expect(await nodeState(page, 'extract')).toBe('none');

    const run = await runway.trigger('data_lake__graph');
    await page.goto(`${web.url}#/dags/data_lake__graph/runs/${encodeURIComponent(run.runId)}`);
    // Live: enrich is drawn running while it waits, without a reload.
    await page.locator('#graph [data-testid="graph-node-enrich"][data-state="running"]').waitFor();
    // Polled: a refresh may replace the SVG between finding a node and reading its colour.
    await expect.poll(() => nodeFill(page, 'enrich')).toBe('rgb(98, 180, 240)');
    release();
    // `load` fails upstream as soon as `clean` fails: the run's end is what says all are drawn final.
    await expect.poll(() => page.locator('#run-state').textContent()).toBe('failed');

    const expected = { extract: 'success', clean: 'failed', enrich: 'success', load: 'upstream_failed' };
    const fills = { success: 'rgb(46, 158, 79)', failed: 'rgb(214, 69, 69)', upstream_failed: 'rgb(214, 69, 69)' };
    for (const [taskId, state] of Object.entries(expected)) {
      expect(await nodeState(page, taskId), taskId).toBe(state);
      await expect.poll(() => nodeFill(page, taskId), { message: taskId }).toBe(fills[state as keyof typeof fills]);
      expect(await page.locator(`#graph [data-testid="graph-node-${taskId}"] text`).textContent()).toBe(taskId);
    }
    const edges = await page
      .locator('#graph .edge')
      .evaluateAll((paths) =>
        paths.map((p) => `${p.getAttribute('data-from')!.slice(5)}>${p.getAttribute('data-to')!.slice(5)}`),
      );
    expect(edges.sort()).toEqual([...EDGES].sort());
    // Every edge is drawn as a line of some length, not a point.
    const lengths = await page
      .locator('#graph .edge')
      .evaluateAll((paths) => paths.map((p) => (p as unknown as SvgPath).getTotalLength()));
    expect(lengths.every((length) => length > 10)).toBe(true);

    const folder = join(REPO_ROOT, '.runway', 'screenshots');
    await mkdir(folder, { recursive: true });
    const file = join(folder, 'graph.png');
    await page.locator('#graph').screenshot({ path: file });
    console.log(`graph view screenshot: ${file}`);

    await page.locator('#graph [data-testid="graph-node-clean"]').click();
    await expect.poll(() => page.locator('#task-state').textContent()).toBe('failed');
    expect(await page.locator('h1').textContent()).toContain('clean');
    expect(await page.locator('main').textContent()).toContain('bad rows');
    expect(refused).toEqual([]);
  }, 180_000);

  it('draws a task group as a box around its tasks, a mapped task with its indexes done, and assets', async () => {
    const raw = asset('s3://lake-raw/orders/');
    const curated = asset('s3://lake-curated/orders/');
    const kinds = dag({ ...manualDag, id: 'data_lake__graph_kinds', schedule: [raw] })
      .task('list_days', {}, async () => ['d1', 'd2', 'd3'])
      .expand('count', { over: 'list_days' }, (day) => async () => day.length)
      .group('load', { upstream: ['count'] }, (g) =>
        g.task('stage', {}, async () => 'staged').task('merge', { upstream: ['load.stage'] }, async () => 1),
      )
      .task('publish', { upstream: ['load'], outlets: [curated] }, async () => null);
    runway = testRunway([kinds]);
    runway.worker();
    web = await startWebServer(runway.engine, { port: 0 });
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.setDefaultTimeout(UI_WAIT_MS);
    const run = await runway.trigger('data_lake__graph_kinds');
    expect((await runway.waitForRun('data_lake__graph_kinds', run.runId)).state).toBe('success');

    await page.goto(`${web.url}#/dags/data_lake__graph_kinds/runs/${encodeURIComponent(run.runId)}`);
    await page.locator('#graph [data-testid="graph-node-publish"][data-state="success"]').waitFor();
    const box = (selector: string) =>
      page
        .locator(`#graph ${selector} rect`)
        .evaluate((rect) => ['x', 'y', 'width', 'height'].map((a) => Number(rect.getAttribute(a))));
    const [gx, gy, gw, gh] = await box('[data-kind="group"][data-node="group:load"]');
    for (const member of ['load.stage', 'load.merge']) {
      const [x, y, w, h] = await box(`[data-testid="graph-node-${member}"]`);
      expect(x! >= gx! && y! >= gy! && x! + w! <= gx! + gw! && y! + h! <= gy! + gh!, member).toBe(true);
    }
    const mapped = page.locator('#graph [data-kind="mapped"][data-testid="graph-node-count"]');
    expect(await mapped.locator('text').textContent()).toBe('count [3/3]');
    expect(await mapped.getAttribute('data-state')).toBe('success');
    for (const uri of [raw.uri, curated.uri])
      expect(await page.locator(`#graph [data-kind="asset"][data-node="asset:${uri}"] text`).textContent()).toBe(uri);
    const edges = await page
      .locator('#graph .edge')
      .evaluateAll((paths) => paths.map((p) => `${p.getAttribute('data-from')}>${p.getAttribute('data-to')}`));
    expect(edges).toEqual(
      expect.arrayContaining([`asset:${raw.uri}>task:list_days`, `task:publish>asset:${curated.uri}`]),
    );
    // The edge between two members is drawn above their group's box, not hidden behind it.
    const layers = await page
      .locator('#graph')
      .evaluate((svg) =>
        [
          ...(svg as unknown as PageElement).querySelectorAll(
            '[data-node="group:load"], [data-from="task:load.stage"]',
          ),
        ].map((e) => e.getAttribute('data-node') ?? 'edge'),
      );
    expect(layers).toEqual(['group:load', 'edge']);

    const folder = join(REPO_ROOT, '.runway', 'screenshots');
    await mkdir(folder, { recursive: true });
    const file = join(folder, 'graph-kinds.png');
    await page.locator('#graph').screenshot({ path: file });
    console.log(`graph view screenshot (groups, mapped, assets): ${file}`);
  }, 180_000);

  it("shows on a run's page, live, that the run missed its deadline", async () => {
    const late = dag({
      ...manualDag,
      id: 'data_lake__graph_late',
      deadline: { after: '1h', from: 'dataIntervalEnd', notify: [() => undefined] },
    }).task('never', { queue: 'nobody' }, async () => ({}));
    runway = testRunway([late]);
    let now = new Date('2026-03-01T00:00:00.000Z');
    const scheduler = runway.scheduler({ now: () => now, quietMs: 0 });
    const run = await runway.trigger('data_lake__graph_late', {}, now);
    web = await startWebServer(runway.engine, { port: 0 });
    browser = await launchChromium();
    const page = await browser.newPage();
    page.setDefaultTimeout(UI_WAIT_MS);
    await page.goto(`${web.url}#/dags/data_lake__graph_late/runs/${encodeURIComponent(run.runId)}`);
    await page.locator('#run-state').waitFor();
    await scheduler.tick();
    expect(await page.locator('#deadline-miss').count()).toBe(0);

    now = new Date('2026-03-01T01:00:00.001Z');
    await scheduler.tick();
    await page.locator('#deadline-miss').waitFor();
    expect(await page.locator('#deadline-miss').textContent()).toMatch(
      /^Missed its deadline: not finished by 2026-03-01T01:00:00\.000Z \(running then\); alert sent /,
    );
  }, 180_000);

  it('draws labels as text: an asset URI or group name holding markup runs nothing', async () => {
    runway = testRunway([diamond]);
    web = await startWebServer(runway.engine, { port: 0 });
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(web.url);
    const hostile = `s3://lake/"><img src=x data-pwned=1><script>document.title='pwned'</script>`;
    // The page's own module, as the UI loads it (a string: the test's bundler must not rewrite the import).
    await page.evaluate("import('/ui-graph.js').then((m) => { globalThis.graphSvg = m.graphSvg; })");
    // Node kinds the graph will carry (assets, groups) with labels no id check has vetted.
    const drawn = await page.evaluate(async (label) => {
      const { graphSvg } = globalThis as unknown as {
        graphSvg: (graph: unknown, href: (id: string) => string | undefined) => string;
      };
      const node = (id: string, kind: string, x: number) => ({
        id,
        kind,
        label,
        x,
        y: 0,
        // Wide enough that the label is not cut before its markup.
        width: 320,
        height: 36,
        state: null,
      });
      const graph = {
        dagId: label,
        runId: label,
        width: 720,
        height: 40,
        nodes: [node(`asset:${label}`, 'asset', 0), { ...node('task:t', 'task', 400), taskId: label }],
        edges: [
          {
            from: `asset:${label}`,
            to: 'task:t',
            points: [
              { x: 320, y: 18 },
              { x: 400, y: 18 },
            ],
          },
        ],
      };
      const host = document.createElement('div');
      host.innerHTML = graphSvg(graph, (id) => `#/tasks/${encodeURIComponent(id)}`);
      document.body.append(host);
      return {
        injected: host.querySelectorAll('img, script, [data-pwned]').length,
        labels: [...host.querySelectorAll('text')].map((t) => t.textContent),
        nodeIds: [...host.querySelectorAll('.node')].map((n) => n.getAttribute('data-node')),
      };
    }, hostile);
    expect(drawn.injected).toBe(0);
    expect(drawn.nodeIds).toEqual([`asset:${hostile}`, 'task:t']);
    // Cut to the box's width, but the same characters, drawn as text.
    expect(drawn.labels.every((text) => text !== null && hostile.startsWith(text.replace(/…$/, '')))).toBe(true);
    expect(await page.title()).not.toBe('pwned');
  }, 180_000);

  it('answers the graph of a run the DAG does not have with 400 and a reason', async () => {
    runway = testRunway([diamond]);
    web = await startWebServer(runway.engine, { port: 0 });
    const answer = await fetch(`${web.url}/api/dags/data_lake__graph/graph?run=manual__nope`);
    expect(answer.status).toBe(400);
    expect(await answer.json()).toEqual({ error: 'DAG "data_lake__graph" has no run "manual__nope"' });
  });
});
