/**
 * The DAG list in pages: every DAG the folder defines (loaded, held, or only named by an import
 * error) comes exactly once across the pages, in id order, with its pause state and recent runs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dag } from 'runway';
import { callWeb } from './helpers/web-client.ts';
import { startWebServer, type WebServer } from '../runner/web/server.ts';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';

let runway: TestRunway;
let web: WebServer | undefined;
afterEach(async () => {
  await web?.close();
  web = undefined;
  await runway?.close();
});

interface Page {
  dags: { dagId: string; state: string; paused: boolean; recentRuns: { runId: string; state: string }[] }[];
  nextAfter: string | null;
}

const numbered = (n: number) =>
  dag({ ...manualDag, id: `data_lake__paged_${String(n).padStart(3, '0')}` }).task('work', {}, async () => n);

describe('DAG list paging', () => {
  it('returns every DAG exactly once across pages, with its state', async () => {
    runway = testRunway(Array.from({ length: 23 }, (_, n) => numbered(n)));
    runway.worker();
    const run = await runway.trigger('data_lake__paged_007', {}, new Date('2026-03-01T00:00:00Z'));
    await runway.waitForRun('data_lake__paged_007', run.runId);
    await runway.engine.store.setPaused('data_lake__paged_011', true);
    web = await startWebServer(runway.engine, {
      port: 0,
      problems: () => [
        { file: 'dags/broken.ts', dagId: 'data_lake__paged_broken', rule: 'import-error', message: 'x' },
      ],
    });
    const seen: Page['dags'] = [];
    const pages: number[] = [];
    let after: string | null = null;
    do {
      const query: string = `?limit=5${after ? `&after=${encodeURIComponent(after)}` : ''}`;
      const response = await callWeb(web.url, `/api/dags${query}`);
      expect(response.status).toBe(200);
      const page = response.json as Page;
      seen.push(...page.dags);
      pages.push(page.dags.length);
      after = page.nextAfter;
    } while (after !== null && pages.length < 10);
    expect(pages).toEqual([5, 5, 5, 5, 4]);
    const expected = [
      ...Array.from({ length: 23 }, (_, n) => `data_lake__paged_${String(n).padStart(3, '0')}`),
      'data_lake__paged_broken',
    ];
    expect(seen.map((d) => d.dagId)).toEqual(expected);
    const byId = new Map(seen.map((d) => [d.dagId, d]));
    expect(byId.get('data_lake__paged_007')!.recentRuns).toEqual([{ runId: run.runId, state: 'success' }]);
    expect(byId.get('data_lake__paged_011')).toMatchObject({ state: 'paused', paused: true });
    expect(byId.get('data_lake__paged_012')).toMatchObject({ state: 'active', paused: false, recentRuns: [] });
    expect(byId.get('data_lake__paged_broken')).toMatchObject({ state: 'import_error' });
  });

  it('refuses a page size past the most a page may hold, saying which parameter', async () => {
    runway = testRunway([numbered(0)]);
    web = await startWebServer(runway.engine, { port: 0 });
    const response = await callWeb(web.url, '/api/dags?limit=501');
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.json)).toMatch(/limit/);
  });
});
