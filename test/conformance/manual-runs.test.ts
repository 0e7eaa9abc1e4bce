/**
 * A run triggered by hand keeps the trigger time as its logical date and gets, as data interval,
 * the last complete interval before it: Airflow's CronDataIntervalTimetable.infer_manual_data_interval
 * (Airflow 2's default; see the README's "Manual runs"). The pure rows are in schedule-rows.ts;
 * this is the same through `runway dags trigger` on Redis.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dag } from 'runway';
import { triggerDag } from '../../runner/state/operations.ts';
import { manualDag, testRunway, type TestRunway } from '../helpers/runway.ts';

let runway: TestRunway | undefined;
afterEach(async () => {
  await runway?.close();
  runway = undefined;
});

describe('manual runs', () => {
  it('of a nightly DAG read the last complete night, also across a DST change', async () => {
    const nightly = dag({
      ...manualDag,
      id: 'data_lake__nightly',
      schedule: '0 2 * * *',
      timezone: 'America/New_York',
    });
    runway = testRunway([nightly.task('work', {}, async () => null)]);
    // test_cron_infer_manual_data_interval_dst[new-york-dst-gap]: triggered at 03:30 EDT on the change night.
    const run = await triggerDag(runway.engine, 'data_lake__nightly', {
      logicalDate: new Date('2024-03-10T07:30:00Z'),
    });
    expect(run).toMatchObject({
      runId: 'manual__2024-03-10T07:30:00.000Z',
      logicalDate: '2024-03-10T07:30:00.000Z',
      dataIntervalStart: '2024-03-09T07:00:00.000Z',
      dataIntervalEnd: '2024-03-10T07:00:00.000Z',
    });
  });

  it('of a DAG without a schedule have the trigger time as their interval', async () => {
    runway = testRunway([dag({ ...manualDag, id: 'data_lake__by_hand' }).task('work', {}, async () => null)]);
    const at = new Date('2026-02-03T04:05:06Z');
    const run = await triggerDag(runway.engine, 'data_lake__by_hand', { logicalDate: at });
    expect([run.logicalDate, run.dataIntervalStart, run.dataIntervalEnd]).toEqual(Array(3).fill(at.toISOString()));
  });
});
