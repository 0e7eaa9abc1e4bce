/**
 * Airflow's data intervals, computed in the DAG's time zone. The run for the interval
 * [start, end) is created once `end` has passed; its logical date is `start`. Pure.
 */
import { CronExpressionParser } from 'cron-parser';
import { DateTime } from 'luxon';
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

const cron = (expression: string, timezone: string, currentDate: Date) =>
  CronExpressionParser.parse(expression, { tz: timezone, currentDate });

/** The first tick strictly after `at`. */
export function tickAfter(expression: string, timezone: string, at: Date): Date {
  return cron(expression, timezone, at).next().toDate();
}

/** The last tick at or before `at`. */
function tickAtOrBefore(expression: string, timezone: string, at: Date): Date {
  return cron(expression, timezone, new Date(at.getTime() + 1))
    .prev()
    .toDate();
}

/**
 * Intervals whose runs are due at `now`, oldest first: after the last scheduled run (or from the
 * start date), ended by `now`, starting no later than the end date. Without catchup, only the latest.
 */
export function dueIntervals(spec: ScheduleSpec, last: Date | undefined, now: Date, limit: number): DataInterval[] {
  const { schedule, timezone } = spec;
  if (schedule.kind === 'manual' || limit <= 0) return [];
  if (schedule.kind === 'once') {
    return last === undefined && now >= spec.startDate ? [{ start: spec.startDate, end: spec.startDate }] : [];
  }
  const expression = schedule.expression;
  const first =
    last === undefined
      ? tickAfter(expression, timezone, new Date(spec.startDate.getTime() - 1))
      : tickAfter(expression, timezone, last);
  const inRange = (interval: DataInterval) =>
    interval.start >= first && interval.end <= now && (spec.endDate === undefined || interval.start <= spec.endDate);

  if (!spec.catchup) {
    const latestEnd = tickAtOrBefore(expression, timezone, now);
    const latest = { start: tickAtOrBefore(expression, timezone, new Date(latestEnd.getTime() - 1)), end: latestEnd };
    if (inRange(latest)) return [latest];
    // With an end date in the past, the last interval that starts by the end date is the latest.
    if (spec.endDate !== undefined && latest.start > spec.endDate) {
      const start = tickAtOrBefore(expression, timezone, spec.endDate);
      const bounded = { start, end: tickAfter(expression, timezone, start) };
      return inRange(bounded) ? [bounded] : [];
    }
    return [];
  }
  const intervals: DataInterval[] = [];
  for (let start = first; intervals.length < limit;) {
    const interval = { start, end: tickAfter(expression, timezone, start) };
    if (!inRange(interval)) break;
    intervals.push(interval);
    start = interval.end;
  }
  return intervals;
}

/** When the next scheduled run becomes due, or undefined if none ever will. */
export function nextRunDueAt(spec: ScheduleSpec, last: Date | undefined): Date | undefined {
  const { schedule, timezone } = spec;
  if (schedule.kind === 'manual') return undefined;
  if (schedule.kind === 'once') return last === undefined ? spec.startDate : undefined;
  const start =
    last === undefined
      ? tickAfter(schedule.expression, timezone, new Date(spec.startDate.getTime() - 1))
      : tickAfter(schedule.expression, timezone, last);
  if (spec.endDate !== undefined && start > spec.endDate) return undefined;
  return tickAfter(schedule.expression, timezone, start);
}

/** The intervals of a backfill: every interval starting in [from, to]. */
export function intervalsBetween(spec: ScheduleSpec, from: Date, to: Date, limit = 10_000): DataInterval[] {
  const { schedule, timezone } = spec;
  if (schedule.kind !== 'cron') return schedule.kind === 'once' ? [{ start: spec.startDate, end: spec.startDate }] : [];
  const intervals: DataInterval[] = [];
  for (let start = tickAfter(schedule.expression, timezone, new Date(from.getTime() - 1)); start <= to;) {
    const end = tickAfter(schedule.expression, timezone, start);
    intervals.push({ start, end });
    if (intervals.length >= limit) break;
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
