/**
 * The real Scheduler on the real Redis, its clock stepped minute by minute through a spring-forward
 * week and a fall-back week in New York, Paris and Lord Howe (half-hour DST), with nightly DAGs at
 * 02:00 (the hour DST skips or repeats in New York and Paris, the half hour Lord Howe skips) and at
 * 01:30 (the half hour Lord Howe and New York repeat), catchup off and on. Every run created is
 * checked against the list below, written out by hand from Airflow's rules (a skipped time runs
 * with the offset before the change, a repeated time at its second occurrence, as Airflow's
 * TestCronIntervalDst and test_cron_next_dagrun_info_no_catchup_dst have it): every local day
 * exactly once, created the minute its interval ends, and no interval but 23, 24 or 25 hours long
 * (23.5 and 24.5 on Lord Howe).
 *
 * Passes run back to back, so the scheduler skips DAGs that a full pass found quiet (see
 * SchedulerOptions.quietMs); at each minute a run falls due it makes a full pass on Redis.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { dag } from 'runway';
import { Scheduler } from '../../runner/services/scheduler.ts';
import { engineKeepingLog, testRunway, type TestRunway } from '../helpers/runway.ts';

interface Week {
  name: string;
  timezone: string;
  /** Local midnight the week starts at (the DAGs' start date) and the one it ends at. */
  from: string;
  to: string;
  /** The ticks (UTC) of each schedule in the week: a run per pair of consecutive ticks. */
  ticks: Record<'0 2 * * *' | '30 1 * * *', string[]>;
}

const WEEKS: Week[] = [
  {
    name: 'New York, spring forward (2024-03-10, 02:00 EST -> 03:00 EDT)',
    timezone: 'America/New_York',
    from: '2024-03-07T00:00:00-05:00',
    to: '2024-03-14T00:00:00-04:00',
    ticks: {
      // 02:00 does not exist on the 10th: it runs at 07:00Z (03:00 EDT), the EST reading.
      '0 2 * * *': [
        '03-07T07:00',
        '03-08T07:00',
        '03-09T07:00',
        '03-10T07:00',
        '03-11T06:00',
        '03-12T06:00',
        '03-13T06:00',
      ],
      '30 1 * * *': [
        '03-07T06:30',
        '03-08T06:30',
        '03-09T06:30',
        '03-10T06:30',
        '03-11T05:30',
        '03-12T05:30',
        '03-13T05:30',
      ],
    },
  },
  {
    name: 'New York, fall back (2024-11-03, 02:00 EDT -> 01:00 EST)',
    timezone: 'America/New_York',
    from: '2024-10-31T00:00:00-04:00',
    to: '2024-11-07T00:00:00-05:00',
    ticks: {
      '0 2 * * *': [
        '10-31T06:00',
        '11-01T06:00',
        '11-02T06:00',
        '11-03T07:00',
        '11-04T07:00',
        '11-05T07:00',
        '11-06T07:00',
      ],
      // 01:30 happens twice on the 3rd: it runs once, at the second (EST, 06:30Z).
      '30 1 * * *': [
        '10-31T05:30',
        '11-01T05:30',
        '11-02T05:30',
        '11-03T06:30',
        '11-04T06:30',
        '11-05T06:30',
        '11-06T06:30',
      ],
    },
  },
  {
    name: 'Paris, spring forward (2024-03-31, 02:00 CET -> 03:00 CEST)',
    timezone: 'Europe/Paris',
    from: '2024-03-28T00:00:00+01:00',
    to: '2024-04-04T00:00:00+02:00',
    ticks: {
      '0 2 * * *': [
        '03-28T01:00',
        '03-29T01:00',
        '03-30T01:00',
        '03-31T01:00',
        '04-01T00:00',
        '04-02T00:00',
        '04-03T00:00',
      ],
      '30 1 * * *': [
        '03-28T00:30',
        '03-29T00:30',
        '03-30T00:30',
        '03-31T00:30',
        '03-31T23:30',
        '04-01T23:30',
        '04-02T23:30',
      ],
    },
  },
  {
    name: 'Paris, fall back (2024-10-27, 03:00 CEST -> 02:00 CET)',
    timezone: 'Europe/Paris',
    from: '2024-10-24T00:00:00+02:00',
    to: '2024-10-31T00:00:00+01:00',
    ticks: {
      // 02:00 happens twice on the 27th: once, at the second (CET, 01:00Z).
      '0 2 * * *': [
        '10-24T00:00',
        '10-25T00:00',
        '10-26T00:00',
        '10-27T01:00',
        '10-28T01:00',
        '10-29T01:00',
        '10-30T01:00',
      ],
      '30 1 * * *': [
        '10-23T23:30',
        '10-24T23:30',
        '10-25T23:30',
        '10-26T23:30',
        '10-28T00:30',
        '10-29T00:30',
        '10-30T00:30',
      ],
    },
  },
  {
    name: 'Lord Howe, DST ends (2024-04-07, 02:00 +11 -> 01:30 +10:30)',
    timezone: 'Australia/Lord_Howe',
    from: '2024-04-04T00:00:00+11:00',
    to: '2024-04-11T00:00:00+10:30',
    ticks: {
      '0 2 * * *': [
        '04-03T15:00',
        '04-04T15:00',
        '04-05T15:00',
        '04-06T15:30',
        '04-07T15:30',
        '04-08T15:30',
        '04-09T15:30',
      ],
      // 01:30 happens twice on the 7th (14:30Z, then 15:00Z): once, at the second.
      '30 1 * * *': [
        '04-03T14:30',
        '04-04T14:30',
        '04-05T14:30',
        '04-06T15:00',
        '04-07T15:00',
        '04-08T15:00',
        '04-09T15:00',
      ],
    },
  },
  {
    name: 'Lord Howe, DST starts (2024-10-06, 02:00 +10:30 -> 02:30 +11)',
    timezone: 'Australia/Lord_Howe',
    from: '2024-10-03T00:00:00+10:30',
    to: '2024-10-10T00:00:00+11:00',
    ticks: {
      // 02:00 does not exist on the 6th: it runs at 15:30Z (02:30 +11), the +10:30 reading.
      '0 2 * * *': [
        '10-02T15:30',
        '10-03T15:30',
        '10-04T15:30',
        '10-05T15:30',
        '10-06T15:00',
        '10-07T15:00',
        '10-08T15:00',
      ],
      '30 1 * * *': [
        '10-02T15:00',
        '10-03T15:00',
        '10-04T15:00',
        '10-05T15:00',
        '10-06T14:30',
        '10-07T14:30',
        '10-08T14:30',
      ],
    },
  },
];

const SCHEDULES = ['0 2 * * *', '30 1 * * *'] as const;
const utc = (tick: string) => new Date(`2024-${tick}:00Z`);

let runway: TestRunway | undefined;
afterEach(async () => {
  await runway?.close();
  runway = undefined;
});

interface Created {
  dagId: string;
  start: string;
  end: string;
  createdAt: string;
}

/** Steps the scheduler's clock a minute at a time from `from` to `to`; returns every run created. */
async function simulate(week: Week): Promise<{ created: Created[]; errors: string[] }> {
  const dags = SCHEDULES.flatMap((schedule) =>
    [false, true].map((catchup) =>
      dag({
        id: `data_lake__sim_${schedule.startsWith('0 2') ? '0200' : '0130'}_${catchup ? 'catchup' : 'latest'}`,
        description: 'A nightly DAG driven through a DST week by a simulated clock.',
        owner: 'data-platform',
        tags: ['data-lake'],
        schedule,
        timezone: week.timezone,
        startDate: week.from,
        catchup,
      }).task('work', {}, async (ctx) => ctx.ds),
    ),
  );
  runway = testRunway(dags);
  const { engine, lines: errors } = engineKeepingLog(runway, ['warn', 'error']);
  let now = Date.parse(week.from);
  const scheduler = new Scheduler(engine, { now: () => new Date(now) });
  const created: Created[] = [];
  const seen = new Set<string>();
  try {
    for (const end = Date.parse(week.to); now < end; now += 60_000) {
      if ((await scheduler.tick()) === 0) continue;
      for (const { summary } of engine.registry.list()) {
        for (const run of await engine.store.listRuns(summary.dagId, 50)) {
          if (seen.has(`${run.dagId}/${run.runId}`)) continue;
          seen.add(`${run.dagId}/${run.runId}`);
          created.push({
            dagId: run.dagId,
            start: run.dataIntervalStart,
            end: run.dataIntervalEnd,
            createdAt: new Date(now).toISOString(),
          });
          expect(run.runId).toBe(`scheduled__${run.logicalDate}`);
          // The run's tasks would run now; it finishes, so the next night's run has room.
          await engine.store.setRunState(run.dagId, run.runId, 'success', ['queued', 'running']);
        }
      }
    }
  } finally {
    await engine.close();
  }
  return { created, errors };
}

describe('the scheduler through DST weeks, minute by minute', () => {
  for (const week of WEEKS) {
    it(week.name, async () => {
      const { created, errors } = await simulate(week);
      expect(errors).toEqual([]);
      const expected: Created[] = SCHEDULES.flatMap((schedule) => {
        const ticks = week.ticks[schedule].map(utc);
        return [false, true].flatMap((catchup) =>
          ticks.slice(1).map((end, i) => ({
            dagId: `data_lake__sim_${schedule.startsWith('0 2') ? '0200' : '0130'}_${catchup ? 'catchup' : 'latest'}`,
            start: ticks[i]!.toISOString(),
            end: end.toISOString(),
            // Created the minute the interval ends, not a minute or a day later.
            createdAt: end.toISOString(),
          })),
        );
      });
      const order = (a: Created, b: Created) => a.dagId.localeCompare(b.dagId) || a.start.localeCompare(b.start);
      expect([...created].sort(order)).toEqual([...expected].sort(order));

      for (const dagId of new Set(created.map((c) => c.dagId))) {
        const runs = created.filter((c) => c.dagId === dagId);
        // Every local day of the week but the last (its run is due the morning after) exactly once.
        const days = runs.map((r) => DateTime.fromISO(r.start, { zone: week.timezone }).toISODate());
        const firstDay = DateTime.fromISO(week.from, { zone: week.timezone });
        expect(days).toEqual(Array.from({ length: 6 }, (_, d) => firstDay.plus({ days: d }).toISODate()));
        const hours = runs.map((r) => (Date.parse(r.end) - Date.parse(r.start)) / 3_600_000);
        expect(hours.every((h) => [23, 23.5, 24, 24.5, 25].includes(h))).toBe(true);
      }
    });
  }
});
