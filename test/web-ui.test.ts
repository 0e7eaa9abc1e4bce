/**
 * The web UI in headless Chromium (Debian's, driven by playwright-core): trigger a DAG from the form
 * its params schema generates, watch the run turn green in the grid without reloading, open a
 * task's log, and save a screenshot (.runway/screenshots/). CHROMIUM_PATH points elsewhere (CI).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dag } from 'runway';
import { startWebServer, type WebServer } from '../runner/web/server.ts';
import { ensureChromium } from './helpers/debian.ts';
import { REPO_ROOT } from './helpers/run-cli.ts';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';

let runway: TestRunway | undefined;
let web: WebServer | undefined;
let browser: Browser | undefined;
let executablePath: string;
beforeAll(() => {
  executablePath = ensureChromium();
}, 300_000);
afterEach(async () => {
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

function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

describe('the web UI in Chromium', () => {
  it('keeps what was chosen in the trigger form when the page refreshes under it', async () => {
    runway = testRunway([orders]);
    web = await startWebServer(runway.engine, { port: 0 });
    browser = await launch();
    const page = await browser.newPage();
    await page.goto(`${web.url}#/dags/data_lake__ui_orders`);
    await page.locator('select[name="region"]').selectOption('us');
    await page.locator('h1').click(); // the form loses focus, as when the user reads the grid

    // A run created elsewhere (another user, the scheduler) re-renders the page under the form.
    expect(await page.locator('th a.cell').count()).toBe(0);
    await runway.trigger('data_lake__ui_orders');
    await page.locator('th a.cell').first().waitFor({ timeout: 10_000 });
    expect(await page.locator('select[name="region"]').inputValue()).toBe('us');
  }, 60_000);

  it('triggers a DAG, shows it turn green in the grid, and opens a task log', async () => {
    runway = testRunway([orders]);
    runway.worker();
    web = await startWebServer(runway.engine, { port: 0 });
    browser = await launch();
    const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });

    await page.goto(web.url);
    await page.getByRole('link', { name: 'data_lake__ui_orders' }).click();
    await page.locator('select[name="region"]').selectOption('us');
    await page.getByRole('button', { name: 'Trigger' }).click();

    // The page is never reloaded: the grid updates itself from the server's event stream.
    await page.locator('[data-testid="cell-extract"][data-state="running"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="cell-load"][data-state="success"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid="cell-extract"]').getAttribute('data-state')).toBe('success');

    await page.locator('[data-testid="cell-extract"]').click();
    await expect
      .poll(() => page.locator('#log').textContent(), { timeout: 10_000 })
      .toContain('extracted 42 orders in us');
    expect(await page.locator('#task-state').textContent()).toBe('success');
    expect(await page.locator('#output').textContent()).toContain('"rows": 42');

    // The run's page, from its column in the grid.
    await page.goBack();
    await page.locator('th a.cell[data-state="success"]').first().click();
    await expect.poll(() => page.locator('#run-state').textContent(), { timeout: 10_000 }).toBe('success');
    expect(await page.locator('tr[data-task="load"]').textContent()).toContain('success');
    expect(await page.locator('main').textContent()).toContain('{"region":"us"}');

    const folder = join(REPO_ROOT, '.runway', 'screenshots');
    await mkdir(folder, { recursive: true });
    await page.goBack();
    await page.locator('[data-testid="cell-load"][data-state="success"]').waitFor();
    const file = join(folder, 'grid.png');
    await page.screenshot({ path: file, fullPage: true });
    console.log(`web UI screenshot: ${file}`);
  }, 60_000);
});
