/** The Assets pages of the web UI in headless Chromium (Debian's, driven by playwright-core). */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { asset, dag } from 'runway';
import { startWebServer, type WebServer } from '../runner/web/server.ts';
import { launchChromium, UI_WAIT_MS } from './helpers/browser.ts';
import { ensureChromium } from './helpers/debian.ts';
import { REPO_ROOT } from './helpers/run-cli.ts';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';
import { until } from './helpers/services.ts';

let runway: TestRunway | undefined;
let web: WebServer | undefined;
let browser: Browser | undefined;
beforeAll(() => {
  ensureChromium(); // once, before the tests: an apt-get install may take minutes
}, 300_000);
afterEach(async () => {
  await browser?.close();
  await web?.close();
  await runway?.close();
});

const rawEvents = asset<{ partition: string }>('s3://lake-raw/events/');
const land = dag({ ...manualDag, id: 'data_lake__ui_land' }).task('land', { outlets: [rawEvents] }, async (ctx) => {
  ctx.assets.setExtra(rawEvents, { partition: `dt=${ctx.ds}/` });
});
const transform = dag({ ...manualDag, id: 'data_lake__ui_transform', schedule: [rawEvents] }).task(
  'transform',
  {},
  async () => null,
);

describe('the Assets pages in Chromium', () => {
  it('lead from the DAG list to each asset, who updates it, who runs on it and its events', async () => {
    runway = testRunway([land, transform]);
    runway.worker();
    const run = await runway.trigger('data_lake__ui_land', {}, new Date('2026-03-01T00:00:00Z'));
    await runway.waitForRun('data_lake__ui_land', run.runId);
    await until('the consumer run', async () =>
      (await runway!.engine.store.listRuns('data_lake__ui_transform')).length > 0 ? true : undefined,
    );
    web = await startWebServer(runway.engine, { port: 0 });
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(web.url);
    await page.getByRole('link', { name: 'Assets' }).click();
    const row = page.locator(`tr[data-asset="${rawEvents.uri}"]`);
    await row.waitFor({ timeout: UI_WAIT_MS });
    expect(await row.innerText()).toMatch(/data_lake__ui_land\.land\s+data_lake__ui_transform\s+\d{4}-/);
    await row.getByRole('link', { name: rawEvents.uri }).click();
    const event = page.locator('tr[data-event]');
    await event.first().waitFor({ timeout: UI_WAIT_MS });
    expect(await event.first().innerText()).toContain('{"partition":"dt=2026-03-01/"}');
    expect(await page.locator('h1').innerText()).toBe(rawEvents.uri);
    await mkdir(join(REPO_ROOT, '.runway/screenshots'), { recursive: true });
    await page.screenshot({ path: join(REPO_ROOT, '.runway/screenshots/asset.png'), fullPage: true });
    await event.first().getByRole('link', { name: run.runId }).click();
    // The event's run link opens the producing run, with its task.
    await page.waitForURL(/#\/dags\/data_lake__ui_land\/runs\/manual__2026-03-01/, { timeout: UI_WAIT_MS });
    await page.getByRole('link', { name: 'land', exact: true }).waitFor({ timeout: UI_WAIT_MS });
  }, 180_000);
});
