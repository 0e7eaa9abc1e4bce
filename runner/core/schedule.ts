/**
 * Schedule expressions and dates, read in the DAG's time zone. Pure functions: cron-parser does the
 * cron arithmetic and luxon the time zones; this module only decides what Runway accepts.
 */
import { CronExpressionParser } from 'cron-parser';
import { DateTime, IANAZone } from 'luxon';

/** Airflow's presets, as five-field cron expressions. `@once` has no cron form. */
export const SCHEDULE_PRESETS = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@quarterly': '0 0 1 */3 *',
  '@yearly': '0 0 1 1 *',
} as const;

export type ParsedSchedule = { kind: 'manual' } | { kind: 'once' } | { kind: 'cron'; expression: string };

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Zones already checked: luxon's check builds an `Intl.DateTimeFormat` each time, and loading 2,000
 * DAGs asked it the same question thousands of times (a tenth of start-up).
 */
const zoneValidity = new Map<string, boolean>();

export function isValidTimezone(timezone: string): boolean {
  let valid = zoneValidity.get(timezone);
  if (valid === undefined) {
    valid = IANAZone.isValidZone(timezone);
    if (zoneValidity.size > 1_000) zoneValidity.clear();
    zoneValidity.set(timezone, valid);
  }
  return valid;
}

/** Cron expressions already parsed, with the parser's complaint if any: many DAGs share one schedule. */
const cronErrors = new Map<string, string | undefined>();

/** The parser's complaint about a five-field expression; its validity does not depend on the zone. */
function cronError(expression: string): string | undefined {
  if (cronErrors.has(expression)) return cronErrors.get(expression);
  let error: string | undefined;
  try {
    CronExpressionParser.parse(expression, { tz: 'UTC', strict: false });
  } catch (thrown) {
    error = (thrown as Error).message;
  }
  if (cronErrors.size > 1_000) cronErrors.clear();
  cronErrors.set(expression, error);
  return error;
}

/**
 * Reads a DAG's `schedule`: `null` (manual only), `@once`, a preset, or a five-field cron expression.
 * The zone is not needed to judge the expression (it is checked on its own, as `timezone`).
 */
export function parseSchedule(schedule: string | null, _timezone: string): Parsed<ParsedSchedule> {
  if (schedule === null) return { ok: true, value: { kind: 'manual' } };
  if (schedule === '@once') return { ok: true, value: { kind: 'once' } };
  if (schedule.startsWith('@')) {
    const expression = SCHEDULE_PRESETS[schedule as keyof typeof SCHEDULE_PRESETS];
    if (!expression) {
      const known = ['@once', ...Object.keys(SCHEDULE_PRESETS)].join(', ');
      return { ok: false, error: `"${schedule}" is not a preset; use one of ${known}, a cron expression, or null` };
    }
    return { ok: true, value: { kind: 'cron', expression } };
  }
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 5) {
    return {
      ok: false,
      error: `"${schedule}" has ${fields.length} fields; a cron expression has 5 (minute hour day-of-month month day-of-week)`,
    };
  }
  const error = cronError(schedule);
  if (error !== undefined) return { ok: false, error: `"${schedule}" is not a valid cron expression: ${error}` };
  return { ok: true, value: { kind: 'cron', expression: schedule } };
}

/** An ISO date or date-time; a date alone, or a time without offset, is read in `timezone`. */
export function parseDagDate(value: string, timezone: string): Parsed<Date> {
  const parsed = DateTime.fromISO(value, { zone: isValidTimezone(timezone) ? timezone : 'UTC' });
  if (!parsed.isValid) {
    return { ok: false, error: `"${value}" is not an ISO date or date-time (like 2026-01-31 or 2026-01-31T02:00)` };
  }
  return { ok: true, value: parsed.toJSDate() };
}
