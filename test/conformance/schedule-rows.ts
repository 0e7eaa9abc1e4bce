/**
 * Schedules and data intervals, transcribed from Airflow's tests of CronDataIntervalTimetable
 * (the timetable a cron `schedule` means in Airflow 2, and in Airflow 3 with
 * `create_cron_data_intervals`), of DAG.next_dagrun_info, and of the DST cases Airflow 1.10's
 * test_dag.py had. Times are UTC. `startDate` is Airflow's `restriction.earliest` (the DAG's start
 * date); Airflow cases with none use 2000-01-01, which no case reaches back to.
 */
import { AIRFLOW, DIFFERENCES, type ConformanceRow } from './row.ts';

type Iso = string;

/** `next_dagrun_info(last_automated_data_interval=last, restriction)` at `now`. */
export interface NextIntervalRow extends ConformanceRow {
  kind: 'next';
  schedule: string;
  timezone: string;
  startDate?: Iso;
  catchup: boolean;
  now: Iso;
  last?: [Iso, Iso];
  /** The interval Airflow proposes next (due once its end has passed), or null for none. */
  expected: [Iso, Iso] | null;
}

/** `infer_manual_data_interval(run_after=at)`. */
export interface ManualIntervalRow extends ConformanceRow {
  kind: 'manual';
  schedule: string;
  timezone: string;
  at: Iso;
  expected: [Iso, Iso];
}

/** Airflow 1.10's `following_schedule` / `previous_schedule` of one instant. */
export interface TickRow extends ConformanceRow {
  kind: 'tick';
  schedule: string;
  timezone: string;
  at: Iso;
  next?: Iso;
  prev?: Iso;
}

/** Whether the timetable validates. */
export interface ValidateRow extends ConformanceRow {
  kind: 'validate';
  schedule: string;
  valid: boolean;
}

/** A case with no Runway form (a difference), kept for the count and the reason. */
export interface UnwritableRow extends ConformanceRow {
  kind: 'unwritable';
}

export type ScheduleRow = NextIntervalRow | ManualIntervalRow | TickRow | ValidateRow | UnwritableRow;

const tt = (test: string) => `${AIRFLOW.intervalTimetable}::${test}`;
const dagTest = (test: string) => `${AIRFLOW.dag}::${test}`;
const old = (test: string) => `${AIRFLOW.dag110}::${test}`;
const delta = (source: string): UnwritableRow => ({
  kind: 'unwritable',
  source,
  difference: DIFFERENCES.cronOnly.reason,
});

const NY = 'America/New_York';
const ZURICH = 'Europe/Zurich';
const LORD_HOWE = 'Australia/Lord_Howe';
const LA = 'America/Los_Angeles';

/** A sequence of next_dagrun_info calls, each from the interval the previous one proposed. */
function chain(
  source: string,
  base: Omit<NextIntervalRow, 'kind' | 'source' | 'expected' | 'last'>,
  intervals: [Iso, Iso][],
): NextIntervalRow[] {
  return intervals.map((expected, i) => ({
    kind: 'next',
    source: `${source} step ${i + 1}`,
    ...base,
    ...(i > 0 ? { last: intervals[i - 1] } : {}),
    expected,
  }));
}

export const SCHEDULE_ROWS: ScheduleRow[] = [
  // --- test_interval_timetable.py ---
  ...(['first-run', 'subsequent'] as const).map((id): NextIntervalRow => ({
    kind: 'next',
    source: tt(`test_no_catchup_first_starts_at_current_time[${id}]`),
    schedule: '30 16 * * *',
    timezone: 'UTC',
    startDate: '2021-09-06T00:00Z',
    catchup: false,
    now: '2021-09-07T00:00Z',
    ...(id === 'subsequent' ? { last: ['2021-09-04T00:00Z', '2021-09-05T00:00Z'] as [Iso, Iso] } : {}),
    expected: ['2021-09-06T16:30Z', '2021-09-07T16:30Z'],
  })),
  ...[true, false].map((catchup): NextIntervalRow => ({
    kind: 'next',
    source: tt(`test_zero_length_last_interval_does_not_re_emit_logical_date[catchup_${catchup}]`),
    schedule: '0 17 * * *',
    timezone: 'UTC',
    catchup,
    now: '2021-09-07T15:00Z',
    last: ['2021-09-05T17:00Z', '2021-09-05T17:00Z'],
    expected: ['2021-09-06T17:00Z', '2021-09-07T17:00Z'],
  })),
  ...[true, false].flatMap((catchup) =>
    [undefined, '2021-09-04T00:00Z'].map((startDate): NextIntervalRow => ({
      kind: 'next',
      source: tt(
        `test_new_schedule_next_info_starts_at_new_time[catchup_${catchup}-${startDate ? 'start_date' : 'none'}]`,
      ),
      schedule: '30 16 * * *',
      timezone: 'UTC',
      ...(startDate ? { startDate } : {}),
      catchup,
      now: '2021-09-07T00:00Z',
      last: ['2021-09-06T00:00Z', '2021-09-07T00:00Z'],
      expected: ['2021-09-06T16:30Z', '2021-09-07T16:30Z'],
    })),
  ),
  ...(['first-run', 'subsequent'] as const).flatMap((id): ScheduleRow[] => [
    {
      kind: 'next',
      source: tt(`test_no_catchup_next_info_starts_at_current_time[${id}-cron]`),
      schedule: '@hourly',
      timezone: 'UTC',
      startDate: '2021-09-04T00:00Z',
      catchup: false,
      now: '2021-09-07T00:00Z',
      ...(id === 'subsequent' ? { last: ['2021-09-04T00:00Z', '2021-09-05T00:00Z'] as [Iso, Iso] } : {}),
      expected: ['2021-09-06T23:00Z', '2021-09-07T00:00Z'],
    },
    delta(tt(`test_no_catchup_next_info_starts_at_current_time[${id}-timedelta]`)),
    delta(tt(`test_no_catchup_next_info_starts_at_current_time[${id}-relativedelta]`)),
  ]),
  ...['monthly-first-run', 'monthly-subsequent', 'yearly-first-run', 'yearly-subsequent'].map((id) =>
    delta(tt(`test_no_catchup_calendar_delta_aligns_to_start_date[${id}]`)),
  ),
  delta(tt('test_no_catchup_calendar_delta_without_start_date_ends_now')),
  delta(tt('test_no_catchup_calendar_delta_uses_one_period_at_a_time_clamping')),
  {
    kind: 'next',
    source: tt('test_catchup_next_info_starts_at_previous_interval_end[cron]'),
    schedule: '@hourly',
    timezone: 'UTC',
    startDate: '2021-09-04T00:00Z',
    catchup: true,
    now: '2021-09-07T00:00Z',
    last: ['2021-09-04T00:00Z', '2021-09-05T00:00Z'],
    expected: ['2021-09-05T00:00Z', '2021-09-05T01:00Z'],
  },
  delta(tt('test_catchup_next_info_starts_at_previous_interval_end[timedelta]')),
  delta(tt('test_catchup_next_info_starts_at_previous_interval_end[relativedelta]')),
  { kind: 'validate', source: tt('test_validate_success[cron]'), schedule: '@hourly', valid: true },
  delta(tt('test_validate_success[timedelta]')),
  delta(tt('test_validate_success[relativedelta]')),
  { kind: 'validate', source: tt('test_validate_failure[invalid-cron]'), schedule: '0 0 1 13 0', valid: false },
  ...['zero-timedelta', 'zero-relativedelta', 'negative-timedelta', 'negative-relativedelta'].map((id) =>
    delta(tt(`test_validate_failure[${id}]`)),
  ),
  {
    kind: 'manual',
    source: tt('test_cron_infer_manual_data_interval_alignment[adhoc]'),
    schedule: '@daily',
    timezone: 'UTC',
    at: '2022-08-08T01:00Z',
    expected: ['2022-08-07T00:00Z', '2022-08-08T00:00Z'],
  },
  {
    kind: 'manual',
    source: tt('test_cron_infer_manual_data_interval_alignment[exact]'),
    schedule: '@daily',
    timezone: 'UTC',
    at: '2022-08-08T00:00Z',
    expected: ['2022-08-07T00:00Z', '2022-08-08T00:00Z'],
  },
  {
    kind: 'next',
    source: tt('test_cron_next_dagrun_info_alignment[exact]'),
    schedule: '@daily',
    timezone: 'UTC',
    catchup: true,
    now: '2022-08-10T00:00Z',
    last: ['2022-08-07T00:00Z', '2022-08-08T00:00Z'],
    expected: ['2022-08-08T00:00Z', '2022-08-09T00:00Z'],
  },
  {
    kind: 'next',
    source: tt('test_cron_next_dagrun_info_alignment[changed]'),
    schedule: '@daily',
    timezone: 'UTC',
    catchup: true,
    now: '2022-08-10T00:00Z',
    last: ['2022-08-07T01:00Z', '2022-08-08T01:00Z'],
    expected: ['2022-08-08T00:00Z', '2022-08-09T00:00Z'],
  },
  ...(
    [
      ['new-york-dst-gap', '0 2 * * *', NY, '2024-03-10T07:30Z', ['2024-03-09T07:00Z', '2024-03-10T07:00Z']],
      ['new-york-dst-gap-exact', '0 2 * * *', NY, '2024-03-10T07:00Z', ['2024-03-09T07:00Z', '2024-03-10T07:00Z']],
      ['zurich-dst-gap', '0 2 * * *', ZURICH, '2023-03-26T01:30Z', ['2023-03-25T01:00Z', '2023-03-26T01:00Z']],
      [
        'lord-howe-half-hour-dst-gap',
        '0 2 * * *',
        LORD_HOWE,
        '2024-10-05T15:30Z',
        ['2024-10-04T15:30Z', '2024-10-05T15:30Z'],
      ],
      ['new-york-fold', '0 1 * * *', NY, '2024-11-03T05:30Z', ['2024-11-01T05:00Z', '2024-11-02T05:00Z']],
    ] as [string, string, string, Iso, [Iso, Iso]][]
  ).flatMap(([id, schedule, timezone, at, expected]): ScheduleRow[] => [
    { kind: 'manual', source: tt(`test_cron_infer_manual_data_interval_dst[${id}]`), schedule, timezone, at, expected },
    {
      kind: 'next',
      source: tt(`test_cron_next_dagrun_info_no_catchup_dst[${id}]`),
      schedule,
      timezone,
      catchup: false,
      now: at,
      expected,
    },
  ]),
  {
    kind: 'next',
    source: tt('test_cron_next_dagrun_info_after_dst_manual_run[new-york-dst-gap]'),
    schedule: '0 2 * * *',
    timezone: NY,
    catchup: true,
    now: '2024-03-10T07:30Z',
    // The interval a manual run at 07:30Z was given (test_cron_infer_manual_data_interval_dst).
    last: ['2024-03-09T07:00Z', '2024-03-10T07:00Z'],
    expected: ['2024-03-10T07:00Z', '2024-03-11T06:00Z'],
  },
  {
    kind: 'next',
    source: tt('test_cron_next_dagrun_info_after_dst_manual_run[zurich-dst-gap]'),
    schedule: '0 2 * * *',
    timezone: ZURICH,
    catchup: true,
    now: '2023-03-26T01:30Z',
    last: ['2023-03-25T01:00Z', '2023-03-26T01:00Z'],
    expected: ['2023-03-26T01:00Z', '2023-03-27T00:00Z'],
  },
  ...chain(
    tt('TestCronIntervalDst::test_entering_exact'),
    {
      schedule: '0 3 * * *',
      timezone: ZURICH,
      startDate: '2023-03-24T00:00Z',
      catchup: true,
      now: '2023-04-01T00:00Z',
    },
    [
      ['2023-03-24T02:00Z', '2023-03-25T02:00Z'],
      ['2023-03-25T02:00Z', '2023-03-26T01:00Z'],
      ['2023-03-26T01:00Z', '2023-03-27T01:00Z'],
    ],
  ),
  ...chain(
    tt('TestCronIntervalDst::test_entering_skip'),
    {
      schedule: '0 2 * * *',
      timezone: ZURICH,
      startDate: '2023-03-24T00:00Z',
      catchup: true,
      now: '2023-04-01T00:00Z',
    },
    [
      ['2023-03-24T01:00Z', '2023-03-25T01:00Z'],
      ['2023-03-25T01:00Z', '2023-03-26T01:00Z'],
      ['2023-03-26T01:00Z', '2023-03-27T00:00Z'],
    ],
  ),
  ...chain(
    tt('TestCronIntervalDst::test_exiting_exact'),
    {
      schedule: '0 3 * * *',
      timezone: ZURICH,
      startDate: '2023-10-27T00:00Z',
      catchup: true,
      now: '2023-11-01T00:00Z',
    },
    [
      ['2023-10-27T01:00Z', '2023-10-28T01:00Z'],
      ['2023-10-28T01:00Z', '2023-10-29T02:00Z'],
      ['2023-10-29T02:00Z', '2023-10-30T02:00Z'],
    ],
  ),
  ...chain(
    tt('TestCronIntervalDst::test_exiting_fold'),
    {
      schedule: '0 2 * * *',
      timezone: ZURICH,
      startDate: '2023-10-27T00:00Z',
      catchup: true,
      now: '2023-11-01T00:00Z',
    },
    [
      ['2023-10-27T00:00Z', '2023-10-28T00:00Z'],
      ['2023-10-28T00:00Z', '2023-10-29T01:00Z'],
      ['2023-10-29T01:00Z', '2023-10-30T01:00Z'],
    ],
  ),
  ...chain(
    tt('TestCronIntervalDstNonTrivial::test_7_to_8_entering'),
    { schedule: '0 7-8 * * *', timezone: LA, startDate: '2020-03-07T00:00Z', catchup: true, now: '2020-03-10T00:00Z' },
    [
      ['2020-03-07T15:00Z', '2020-03-07T16:00Z'],
      ['2020-03-07T16:00Z', '2020-03-08T14:00Z'],
      ['2020-03-08T14:00Z', '2020-03-08T15:00Z'],
    ],
  ),
  ...chain(
    tt('TestCronIntervalDstNonTrivial::test_7_and_9_entering'),
    { schedule: '0 7,9 * * *', timezone: LA, startDate: '2020-03-07T00:00Z', catchup: true, now: '2020-03-10T00:00Z' },
    [
      ['2020-03-07T15:00Z', '2020-03-07T17:00Z'],
      ['2020-03-07T17:00Z', '2020-03-08T14:00Z'],
      ['2020-03-08T14:00Z', '2020-03-08T16:00Z'],
    ],
  ),
  ...chain(
    tt('test_fold_scheduling'),
    {
      schedule: '*/30 * * * *',
      timezone: ZURICH,
      startDate: '2023-10-28T23:30Z',
      catchup: true,
      now: '2023-10-30T00:00Z',
    },
    [
      ['2023-10-28T23:30Z', '2023-10-29T00:00Z'],
      ['2023-10-29T00:00Z', '2023-10-29T00:30Z'],
      ['2023-10-29T00:30Z', '2023-10-29T01:00Z'],
      ['2023-10-29T01:00Z', '2023-10-29T01:30Z'],
      ['2023-10-29T01:30Z', '2023-10-29T02:00Z'],
    ],
  ),
  delta(tt('test_generate_run_id_anchors_to_data_interval_start[timedelta]')),
  delta(tt('test_generate_run_id_default_timetable_unaffected')),

  // --- test_dag.py: DAG.next_dagrun_info ---
  {
    kind: 'next',
    source: dagTest('test_next_dagrun_info_once step 1'),
    schedule: '@once',
    timezone: 'UTC',
    startDate: '2015-01-01T00:00Z',
    catchup: true,
    now: '2026-01-01T00:00Z',
    expected: ['2015-01-01T00:00Z', '2015-01-01T00:00Z'],
  },
  {
    kind: 'next',
    source: dagTest('test_next_dagrun_info_once step 2'),
    schedule: '@once',
    timezone: 'UTC',
    startDate: '2015-01-01T00:00Z',
    catchup: true,
    now: '2026-01-01T00:00Z',
    last: ['2015-01-01T00:00Z', '2015-01-01T00:00Z'],
    expected: null,
  },
  // test_next_dagrun_info_catchup asserts ranges around utcnow(); here at a fixed now, 12:34:56Z.
  {
    kind: 'next',
    source: dagTest('test_next_dagrun_info_catchup[dag_without_catchup_ten_minute]'),
    schedule: '*/10 * * * *',
    timezone: 'UTC',
    startDate: '2026-01-01T06:00Z',
    catchup: false,
    now: '2026-01-01T12:34:56Z',
    expected: ['2026-01-01T12:20Z', '2026-01-01T12:30Z'],
  },
  {
    kind: 'next',
    source: dagTest('test_next_dagrun_info_catchup[dag_without_catchup_hourly]'),
    schedule: '@hourly',
    timezone: 'UTC',
    startDate: '2026-01-01T06:00Z',
    catchup: false,
    now: '2026-01-01T12:34:56Z',
    expected: ['2026-01-01T11:00Z', '2026-01-01T12:00Z'],
  },
  {
    kind: 'next',
    source: dagTest('test_next_dagrun_info_catchup[dag_without_catchup_once]'),
    schedule: '@once',
    timezone: 'UTC',
    startDate: '2026-01-01T06:00Z',
    catchup: false,
    now: '2026-01-01T12:34:56Z',
    expected: ['2026-01-01T06:00Z', '2026-01-01T06:00Z'],
  },
  ...['@daily', 'cron_timetable("0 0 * * *")'].flatMap((id): NextIntervalRow[] => [
    {
      kind: 'next',
      source: dagTest(`test_next_dagrun_info_timedelta_schedule_and_catchup_false[${id}] step 1`),
      schedule: '0 0 * * *',
      timezone: 'UTC',
      startDate: '2015-01-01T00:00Z',
      catchup: false,
      now: '2020-01-05T00:00Z',
      expected: ['2020-01-04T00:00Z', '2020-01-05T00:00Z'],
    },
    {
      kind: 'next',
      source: dagTest(`test_next_dagrun_info_timedelta_schedule_and_catchup_false[${id}] step 2`),
      schedule: '0 0 * * *',
      timezone: 'UTC',
      startDate: '2015-01-01T00:00Z',
      catchup: false,
      now: '2020-01-05T00:00Z',
      last: ['2020-01-04T00:00Z', '2020-01-05T00:00Z'],
      expected: ['2020-01-05T00:00Z', '2020-01-06T00:00Z'],
    },
  ]),
  delta(dagTest('test_next_dagrun_info_timedelta_schedule_and_catchup_false[timedelta]')),
  delta(dagTest('test_next_dagrun_info_timedelta_schedule_and_catchup_true')),
  delta(dagTest('test_next_dagrun_info_timetable_exception')),
  delta(dagTest('test_next_dagrun_after_fake_scheduled_previous')),
  {
    kind: 'next',
    source: dagTest('test_next_dagrun_after_auto_align[test_scheduler_auto_align_1]'),
    schedule: '4 5 * * *',
    timezone: 'UTC',
    startDate: '2016-01-01T10:10Z',
    catchup: true,
    now: '2026-01-01T00:00Z',
    expected: ['2016-01-02T05:04Z', '2016-01-03T05:04Z'],
  },
  {
    kind: 'next',
    source: dagTest('test_next_dagrun_after_auto_align[test_scheduler_auto_align_2]'),
    schedule: '10 10 * * *',
    timezone: 'UTC',
    startDate: '2016-01-01T10:10Z',
    catchup: true,
    now: '2026-01-01T00:00Z',
    expected: ['2016-01-01T10:10Z', '2016-01-02T10:10Z'],
  },
  // The catchup=False cases assert the hour and minute of a run near utcnow(); at a fixed now:
  {
    kind: 'next',
    source: dagTest('test_next_dagrun_after_auto_align[test_scheduler_auto_align_3]'),
    schedule: '4 5 * * *',
    timezone: 'UTC',
    startDate: '2016-01-01T10:10Z',
    catchup: false,
    now: '2026-06-15T12:00Z',
    expected: ['2026-06-14T05:04Z', '2026-06-15T05:04Z'],
  },
  {
    kind: 'next',
    source: dagTest('test_next_dagrun_after_auto_align[test_scheduler_auto_align_4]'),
    schedule: '10 10 * * *',
    timezone: 'UTC',
    startDate: '2016-01-01T10:10Z',
    catchup: false,
    now: '2026-06-15T12:00Z',
    expected: ['2026-06-14T10:10Z', '2026-06-15T10:10Z'],
  },
  // Airflow 3's DAGs default to catchup=False; the test does not travel in time (now is before 2028).
  {
    kind: 'next',
    source: dagTest('test_next_dagrun_info_on_29_feb step 1'),
    schedule: '0 0 29 2 *',
    timezone: 'UTC',
    startDate: '2024-01-01T00:00Z',
    catchup: false,
    now: '2026-06-01T00:00Z',
    expected: ['2024-02-29T00:00Z', '2028-02-29T00:00Z'],
  },
  {
    kind: 'next',
    source: dagTest('test_next_dagrun_info_on_29_feb step 2'),
    schedule: '0 0 29 2 *',
    timezone: 'UTC',
    startDate: '2024-01-01T00:00Z',
    catchup: false,
    now: '2026-06-01T00:00Z',
    last: ['2024-02-29T00:00Z', '2028-02-29T00:00Z'],
    expected: ['2028-02-29T00:00Z', '2032-02-29T00:00Z'],
  },
  {
    kind: 'next',
    source: dagTest('test_schedule_dag_once'),
    schedule: '@once',
    timezone: 'UTC',
    startDate: '2015-01-01T00:00Z',
    catchup: true,
    now: '2026-01-01T00:00Z',
    last: ['2015-01-01T00:00Z', '2015-01-01T00:00Z'],
    expected: null,
  },

  // --- Airflow 1.10 test_dag.py: following_schedule / previous_schedule across Zurich's DST ---
  // 2018-10-28 02:55+02:00 is 00:55Z; every five minutes steps through the repeated hour.
  {
    kind: 'tick',
    source: old('test_following_previous_schedule'),
    schedule: '*/5 * * * *',
    timezone: ZURICH,
    at: '2018-10-28T00:55Z',
    next: '2018-10-28T01:00Z',
    prev: '2018-10-28T00:50Z',
  },
  {
    kind: 'tick',
    source: old('test_following_previous_schedule (previous of the following)'),
    schedule: '*/5 * * * *',
    timezone: ZURICH,
    at: '2018-10-28T01:00Z',
    prev: '2018-10-28T00:55Z',
  },
  {
    kind: 'tick',
    source: old('test_following_previous_schedule_daily_dag_cest_to_cet'),
    schedule: '0 3 * * *',
    timezone: ZURICH,
    at: '2018-10-27T01:00Z',
    prev: '2018-10-26T01:00Z',
    next: '2018-10-28T02:00Z',
  },
  {
    kind: 'tick',
    source: old('test_following_previous_schedule_daily_dag_cest_to_cet (previous of the following)'),
    schedule: '0 3 * * *',
    timezone: ZURICH,
    at: '2018-10-28T02:00Z',
    prev: '2018-10-27T01:00Z',
  },
  // pendulum 1's PRE_TRANSITION reads the skipped 02:00 as 01:00+01:00, i.e. 00:00Z.
  {
    kind: 'tick',
    source: old('test_following_previous_schedule_daily_dag_cet_to_cest'),
    schedule: '0 3 * * *',
    timezone: ZURICH,
    at: '2018-03-25T00:00Z',
    prev: '2018-03-24T02:00Z',
    next: '2018-03-25T01:00Z',
  },
  {
    kind: 'tick',
    source: old('test_following_previous_schedule_daily_dag_cet_to_cest (previous of the following)'),
    schedule: '0 3 * * *',
    timezone: ZURICH,
    at: '2018-03-25T01:00Z',
    prev: '2018-03-24T02:00Z',
  },
];
