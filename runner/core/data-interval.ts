/**
 * Airflow's data intervals, computed in the DAG's time zone. The run for the interval
 * [start, end) is created once `end` has passed; its logical date is `start`. Pure and total: no
 * schedule or zone makes these throw (the tick arithmetic is in `cron-ticks.ts`).
 */
import { DateTime } from 'luxon';
import { alignToNext, alignToPrev, nextTick, prevTick } from './tick-memo.ts';
import type { ParsedSchedule } from './schedule.ts';

export interface DataInterval {
  start: Date;
  end: Date;
}

export interface ScheduleSpec {
  schedule: ParsedSchedule;
  timezone: string;
  startDate: Date;
  endDate?: Date | undefined;
  catchup: boolean;
}

/** The first tick strictly after `at`; `at` itself for an expression that never fires (refused at load). */
export function tickAfter(expression: string, timezone: string, at: Date): Date {
  return nextTick(expression, timezone, at) ?? at;
}

const later = (a: Date, b: Date) => (a > b ? a : b);

/**
 * With `catchup: false`, the earliest interval start: the start of the latest interval that has
 * ended by `now` (Airflow's `CronDataIntervalTimetable._skip_to_latest`).
 */
function latestStart(expression: string, timezone: string, now: Date): Date | undefined {
  const lastStart = prevTick(expression, timezone, now);
  const nextStart = lastStart && nextTick(expression, timezone, lastStart);
  if (!lastStart || !nextStart) return undefined;
  return nextStart.getTime() === now.getTime() ? lastStart : prevTick(expression, timezone, lastStart);
}

/**
 * The interval after `last` (the last scheduled one), or the first: Airflow's `next_dagrun_info`.
 * It starts at the end of `last` aligned to the schedule (so a schedule changed from daily to
 * hourly continues from the end of the last day), never before the start date (so a start date
 * moved later is honoured), and without catchup never before the latest interval ended by `now`.
 * Its run is due once its end has passed. Undefined when no run will come (past the end date, @once
 * done, manual only).
 */
export function nextInterval(spec: ScheduleSpec, last: DataInterval | undefined, now: Date): DataInterval | undefined {
  const { schedule, timezone } = spec;
  if (schedule.kind === 'manual') return undefined;
  if (schedule.kind === 'once') return last === undefined ? { start: spec.startDate, end: spec.startDate } : undefined;
  const expression = schedule.expression;
  let earliest = alignToNext(expression, timezone, spec.startDate);
  if (!earliest) return undefined;
  if (!spec.catchup) {
    const latest = latestStart(expression, timezone, now);
    if (latest) earliest = later(earliest, latest);
  }
  let start: Date | undefined = earliest;
  if (last !== undefined) {
    const lastEnd = alignToPrev(expression, timezone, last.end);
    if (lastEnd) start = later(lastEnd, earliest);
    // A zero-length last interval must not bring its own logical date back (test_zero_length_last_interval).
    if (start <= last.start) start = nextTick(expression, timezone, last.start);
  }
  if (!start || (spec.endDate !== undefined && start > spec.endDate)) return undefined;
  const end = nextTick(expression, timezone, start);
  return end ? { start, end } : undefined;
}

/**
 * Intervals whose runs are due at `now`, oldest first, at most `limit`: `nextInterval` repeated
 * while the interval has ended. Without catchup that is the latest interval only, by the same
 * computation, so the two paths cannot disagree around a DST change.
 */
export function dueIntervals(
  spec: ScheduleSpec,
  last: DataInterval | undefined,
  now: Date,
  limit: number,
): DataInterval[] {
  const intervals: DataInterval[] = [];
  for (let previous = last; intervals.length < limit;) {
    const interval = nextInterval(spec, previous, now);
    if (!interval || interval.end > now) break;
    intervals.push(interval);
    previous = interval;
  }
  return intervals;
}

/** When the next scheduled run becomes due, or undefined if none ever will. */
export function nextRunDueAt(spec: ScheduleSpec, last: DataInterval | undefined, now: Date): Date | undefined {
  return nextInterval(spec, last, now)?.end;
}

/**
 * The last scheduled interval from what the run store kept: its logical date, and its end when the
 * store has it (runs scheduled before ends were kept have only the logical date; their end is the
 * next tick, as it was computed then).
 */
export function lastInterval(
  spec: ScheduleSpec,
  start: Date | undefined,
  end: Date | undefined,
): DataInterval | undefined {
  if (start === undefined) return undefined;
  if (end !== undefined) return { start, end };
  const { schedule } = spec;
  return { start, end: schedule.kind === 'cron' ? tickAfter(schedule.expression, spec.timezone, start) : start };
}

/**
 * The data interval of a run triggered by hand at `at`: the last complete interval before it, as
 * Airflow's `CronDataIntervalTimetable.infer_manual_data_interval` (Airflow 2's default, and Airflow
 * 3's with `create_cron_data_intervals`). Without a cron schedule, `[at, at]`.
 */
export function manualInterval(spec: ScheduleSpec, at: Date): DataInterval {
  const { schedule, timezone } = spec;
  if (schedule.kind !== 'cron') return { start: at, end: at };
  const end = alignToPrev(schedule.expression, timezone, at);
  const start = end && prevTick(schedule.expression, timezone, end);
  return end && start ? { start, end } : { start: at, end: at };
}

/** The intervals of a backfill: every interval starting in [from, to]. */
export function intervalsBetween(spec: ScheduleSpec, from: Date, to: Date, limit = 10_000): DataInterval[] {
  const { schedule, timezone } = spec;
  if (schedule.kind !== 'cron') return schedule.kind === 'once' ? [{ start: spec.startDate, end: spec.startDate }] : [];
  const intervals: DataInterval[] = [];
  let start = alignToNext(schedule.expression, timezone, from);
  while (start && start <= to && intervals.length < limit) {
    const end = nextTick(schedule.expression, timezone, start);
    if (!end) break;
    intervals.push({ start, end });
    start = end;
  }
  return intervals;
}

const dsCache = new Map<string, { ds: string; dsNodash: string }>();

/** `YYYY-MM-DD` and `YYYYMMDD` of a date in a time zone (memoized: every try of a run asks). */
export function dsOf(date: Date, timezone: string): { ds: string; dsNodash: string } {
  const key = `${date.getTime()}|${timezone}`;
  let value = dsCache.get(key);
  if (!value) {
    const ds = DateTime.fromJSDate(date, { zone: timezone }).toFormat('yyyy-MM-dd');
    value = { ds, dsNodash: ds.replaceAll('-', '') };
    if (dsCache.size > 10_000) dsCache.clear();
    dsCache.set(key, value);
  }
  return value;
}

/** Deterministic run id of a scheduled run: `scheduled__<logical date, ISO in UTC>`. */
export function scheduledRunId(logicalDate: Date): string {
  return `scheduled__${logicalDate.toISOString()}`;
}
