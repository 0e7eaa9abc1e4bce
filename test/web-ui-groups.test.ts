/**
 * The web UI's grid folds a task group (headless Chromium, as in web-ui.test.ts): one row for the
 * group, coloured by its worst task state, that opens on a click to show the group's tasks.
 */
import type { Browser } from 'playwright-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dag, failNow } from 'runway';
import { startWebServer, type WebServer } from '../runner/web/server.ts';
import { launchChromium, UI_WAIT_MS } from './helpers/browser.ts';
import { ensureChromium } from './helpers/debian.ts';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';

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

const grouped = dag({ ...manualDag, id: 'data_lake__ui_groups' })
  .task('extract', {}, async () => 1)
  .group('load', { upstream: ['extract'] }, (g) =>
    g
      .task('stage', {}, async () => 'staged')
      .task('merge', { upstream: ['load.stage'] }, async () => {
        throw failNow('merge failed on purpose');
      }),
  );

describe('the grid and task groups', () => {
  it('folds a group into one row with its worst state, and opens it on a click', async () => {
    runway = testRunway([grouped]);
    runway.worker();
    web = await startWebServer(runway.engine, { port: 0 });
    const run = await runway.trigger('data_lake__ui_groups');
    expect((await runway.waitForRun('data_lake__ui_groups', run.runId)).state).toBe('failed');
    browser = await launchChromium();
    const page = await browser.newPage();
    page.setDefaultTimeout(UI_WAIT_MS);
    await page.goto(`${web.url}#/dags/data_lake__ui_groups`);
    await page.locator('[data-testid="group-cell-load"][data-state="failed"]').waitFor();
    expect(await page.locator('[data-testid="cell-extract"]').isVisible()).toBe(true);
    expect(await page.locator('[data-testid="cell-load.stage"]').isVisible()).toBe(false);
    await page.locator('button[data-fold="load"]').click();
    await page.locator('[data-testid="cell-load.merge"][data-state="failed"]').waitFor({ state: 'visible' });
    expect(await page.locator('[data-testid="cell-load.stage"]').getAttribute('data-state')).toBe('success');
    await page.locator('button[data-fold="load"]').click();
    await page.locator('[data-testid="cell-load.stage"]').waitFor({ state: 'hidden' });
  }, 180_000);
});
