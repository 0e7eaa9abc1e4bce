/**
 * The web UI in headless Chromium (Debian's, driven by playwright-core): trigger a DAG from the form
 * its params schema generates, watch the run turn green in the grid without reloading, open a
 * task's log, and save a screenshot (.runway/screenshots/). CHROMIUM_PATH points elsewhere (CI).
 */
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dag } from 'runway';
import { startWebServer, type WebServer } from '../runner/web/server.ts';
import { launchChromium, UI_WAIT_MS } from './helpers/browser.ts';
import { ensureChromium } from './helpers/debian.ts';
import { REPO_ROOT } from './helpers/run-cli.ts';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';

let runway: TestRunway | undefined;
let web: WebServer | undefined;
let browser: Browser | undefined;
let attacker: Server | undefined;
beforeAll(() => {
  ensureChromium(); // once, before the tests: an apt-get install may take minutes
}, 300_000);
afterEach(async () => {
  await new Promise((resolve) => (attacker ? attacker.close(resolve) : resolve(undefined)));
  attacker = undefined;
  await browser?.close();
  await web?.close();
  await runway?.close();
});

const orders = dag({
  ...manualDag,
  id: 'data_lake__ui_orders',
  params: z.object({ region: z.enum(['eu', 'us']).default('eu') }),
})
  .task('extract', {}, async (ctx) => {
    // Long enough to be seen running: pages refresh every second.
    await new Promise((r) => setTimeout(r, 2_500));
    ctx.log.info(`extracted 42 orders in ${ctx.params.region}`);
    return { rows: 42 };
  })
  .task('load', { upstream: ['extract'] }, async (ctx) => ({ loaded: ctx.upstream.extract.rows }));

// `.` and `..` are in the id alphabet; URL parsers drop them as dot segments.
const dots = dag({ ...manualDag, id: 'data_lake__ui_dots' })
  .task('.', {}, async (ctx) => {
    ctx.log.info('the task called "."');
    return { dot: 1 };
  })
  .task('..', { upstream: ['.'] }, async (ctx) => {
    ctx.log.info('the task called ".."');
    return { dots: 2 };
  });

/** A page on another origin (another port of 127.0.0.1) that tries to act on the UI's server. */
async function startAttacker(target: string): Promise<string> {
  const page = `<!doctype html><title>attacker</title><script>
    const target = ${JSON.stringify(target)};
    const results = [];
    const attempt = (path, init) =>
      fetch(target + path, { method: 'POST', ...init }).then((r) => results.push(path + ' ' + r.type), (e) => results.push(path + ' ' + e.name));
    Promise.all([
      // A "simple" request: no preflight, the answer unreadable, but the request is sent.
      attempt('/api/dags/data_lake__ui_orders/pause', { mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{"paused":true}' }),
      attempt('/api/dags/data_lake__ui_orders/trigger', { mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{}' }),
      // JSON needs a CORS preflight, which the server never approves.
      attempt('/api/dags/data_lake__ui_orders/trigger', { headers: { 'content-type': 'application/json' }, body: '{}' }),
    ]).then(() => { document.body.dataset.results = JSON.stringify(results); document.title = 'done'; });
  </script>`;
  attacker = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(page);
  });
  await new Promise<void>((resolve) => attacker!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`;
}

describe('the web UI in Chromium', () => {
  it('keeps what was chosen in the trigger form when the page refreshes under it', async () => {
    runway = testRunway([orders]);
    web = await startWebServer(runway.engine, { port: 0 });
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${web.url}#/dags/data_lake__ui_orders`);
    await page.locator('select[name="region"]').selectOption('us');
    await page.locator('h1').click(); // the form loses focus, as when the user reads the grid

    // A run created elsewhere (another user, the scheduler) re-renders the page under the form.
    expect(await page.locator('th a.cell').count()).toBe(0);
    await runway.trigger('data_lake__ui_orders');
    await page.locator('th a.cell').first().waitFor({ timeout: UI_WAIT_MS });
    expect(await page.locator('select[name="region"]').inputValue()).toBe('us');
  }, 180_000);

  it('lets a page on another origin neither pause a DAG nor trigger a run', async () => {
    runway = testRunway([orders]);
    web = await startWebServer(runway.engine, { port: 0 });
    const evil = await startAttacker(web.url);
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(evil);
    await expect.poll(() => page.title(), { timeout: UI_WAIT_MS }).toBe('done');
    const results = JSON.parse((await page.locator('body').getAttribute('data-results'))!) as string[];
    // Each request settled: a no-cors one gets an opaque answer, or a network error where the
    // answer's Cross-Origin-Resource-Policy forbids it to this page; the JSON one fails its preflight.
    expect(results).toHaveLength(3);
    expect(results.filter((r) => r.endsWith(' TypeError') || r.endsWith(' opaque'))).toHaveLength(3);
    expect(await runway.engine.store.isPaused('data_lake__ui_orders', false)).toBe(false);
    expect(await runway.engine.store.listRuns('data_lake__ui_orders')).toEqual([]);

    // The UI's own page still pauses it (its buttons are type="button": a bare <button> is a
    // submit button, which the page's click handler left to the form, so Pause did nothing).
    await page.goto(web.url);
    await page.locator('button[data-pause="data_lake__ui_orders"]').click();
    await page
      .locator('button[data-pause="data_lake__ui_orders"][data-paused="true"]')
      .waitFor({ timeout: UI_WAIT_MS });
    expect(await runway.engine.store.isPaused('data_lake__ui_orders', false)).toBe(true);
  }, 180_000);

  it('opens the tasks "." and ".." from the grid', async () => {
    runway = testRunway([dots]);
    runway.worker();
    web = await startWebServer(runway.engine, { port: 0 });
    const run = await runway.trigger('data_lake__ui_dots');
    await runway.waitForRun('data_lake__ui_dots', run.runId);
    browser = await launchChromium();
    const page = await browser.newPage();
    page.setDefaultTimeout(UI_WAIT_MS);
    for (const taskId of ['..', '.']) {
      await page.goto(`${web.url}#/dags/data_lake__ui_dots`);
      await page.locator(`[data-testid="cell-${taskId}"][data-state="success"]`).click();
      await expect
        .poll(() => page.locator('#log').textContent(), { timeout: UI_WAIT_MS })
        .toContain(`the task called "${taskId}"`);
      expect(await page.locator('h1').textContent()).toContain(taskId);
      expect(await page.locator('#task-state').textContent()).toBe('success');
    }
  }, 180_000);

  it('triggers a DAG, shows it turn green in the grid, and opens a task log', async () => {
    runway = testRunway([orders]);
    runway.worker();
    web = await startWebServer(runway.engine, { port: 0 });
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    // The page runs under a CSP without inline script: nothing it does may be refused by it.
    const refused: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
    });

    await page.goto(web.url);
    await page.getByRole('link', { name: 'data_lake__ui_orders' }).click();
    await page.locator('select[name="region"]').selectOption('us');
    await page.getByRole('button', { name: 'Trigger' }).click();

    // The page is never reloaded: the grid updates itself from the server's event stream.
    await page.locator('[data-testid="cell-extract"][data-state="running"]').waitFor({ timeout: UI_WAIT_MS });
    await page.locator('[data-testid="cell-load"][data-state="success"]').waitFor({ timeout: UI_WAIT_MS });
    expect(await page.locator('[data-testid="cell-extract"]').getAttribute('data-state')).toBe('success');

    await page.locator('[data-testid="cell-extract"]').click();
    await expect
      .poll(() => page.locator('#log').textContent(), { timeout: UI_WAIT_MS })
      .toContain('extracted 42 orders in us');
    expect(await page.locator('#task-state').textContent()).toBe('success');
    expect(await page.locator('#output').textContent()).toContain('"rows": 42');

    // The run's page, from its column in the grid.
    await page.goBack();
    await page.locator('th a.cell[data-state="success"]').first().click();
    await expect.poll(() => page.locator('#run-state').textContent(), { timeout: UI_WAIT_MS }).toBe('success');
    expect(await page.locator('tr[data-task="load"]').textContent()).toContain('success');
    expect(await page.locator('main').textContent()).toContain('{"region":"us"}');

    const folder = join(REPO_ROOT, '.runway', 'screenshots');
    await mkdir(folder, { recursive: true });
    await page.goBack();
    await page.locator('[data-testid="cell-load"][data-state="success"]').waitFor();
    const file = join(folder, 'grid.png');
    await page.screenshot({ path: file, fullPage: true });
    console.log(`web UI screenshot: ${file}`);
    expect(refused).toEqual([]);
  }, 180_000);
});
