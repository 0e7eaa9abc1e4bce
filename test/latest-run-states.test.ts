/** The per-state run counts `/metrics` reports, read for many DAGs at once. */
import { afterEach, describe, expect, it } from 'vitest';
import { dag } from 'runway';
import { manualDag, testRunway, type TestRunway } from './helpers/runway.ts';

let runway: TestRunway;
afterEach(async () => {
  await runway?.close();
});

const manual = (id: string) => dag({ ...manualDag, id }).task('work', {}, async () => 1);

describe('latestRunStates', () => {
  it("counts the states of each DAG's latest runs only, and nothing for a DAG without runs", async () => {
    runway = testRunway([manual('data_lake__counted'), manual('data_lake__never_run')]);
    const loaded = runway.engine.loaded('data_lake__counted');
    for (const [hour, state] of [
      [1, 'failed'],
      [2, 'success'],
      [3, 'success'],
      [4, 'queued'],
    ] as const) {
      const at = new Date(`2026-01-01T0${hour}:00:00Z`);
      await runway.engine.createRun(loaded, { runId: `manual__${hour}`, runType: 'manual', start: at, end: at });
      if (state !== 'queued')
        await runway.engine.store.setRunState('data_lake__counted', `manual__${hour}`, state, ['queued']);
    }
    const counts = await runway.engine.store.latestRunStates(['data_lake__counted', 'data_lake__never_run'], 3);
    // The three latest by logical date: hours 4 (queued), 3 and 2 (success); hour 1 is left out.
    expect(counts).toEqual(
      new Map([
        ['data_lake__counted', { queued: 1, success: 2 }],
        ['data_lake__never_run', {}],
      ]),
    );
  });
});
