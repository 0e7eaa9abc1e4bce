/**
 * Cron ticks in a DAG's time zone, read the way Airflow reads them (`airflow/timetables/_cron.py`):
 * the expression is matched against wall-clock time, and the wall-clock tick is then placed in the
 * zone. A tick skipped by a DST change is placed with the offset in force before the change, so
 * 02:00 on New York's spring-forward night is 07:00Z (03:00 EDT) and 02:00 on Lord Howe's is 02:30
 * (+11); a tick that happens twice is the second one (Airflow's fold=1). An expression that fires
 * every hour steps through real time instead, so the repeated hour runs twice, as Airflow's
 * `test_fold_scheduling` expects.
 *
 * Pure and total: cron-parser only ever sees wall-clock times in UTC, where it has no DST to trip
 * on ("loop limit exceeded"); an expression that never matches (30 February) yields `undefined`.
 */
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { IANAZone } from 'luxon';

const MINUTE = 60_000;
const DAY = 86_400_000;
/** No zone is more than 14 hours from UTC: a wall-clock time lies within this of its instant. */
const MAX_OFFSET = 14 * 3_600_000;

interface CompiledCron {
  /** Parsed once in UTC and reset to each wall-clock time: parsing is most of the cost of a tick. */
  parsed: CronExpression;
  zone: IANAZone;
  /** Fires at least once every hour: Airflow steps such crons through real time. */
  everyHour: boolean;
}

const compiled = new Map<string, CompiledCron | null>();

function compile(expression: string, timezone: string): CompiledCron | undefined {
  const key = `${expression}|${timezone}`;
  let cron = compiled.get(key);
  if (cron === undefined) {
    try {
      const zone = IANAZone.create(timezone);
      const parsed = CronExpressionParser.parse(expression, { tz: 'UTC' });
      cron = zone.isValid ? { parsed, zone, everyHour: parsed.fields.hour.values.length === 24 } : null;
    } catch {
      cron = null;
    }
    if (compiled.size > 1_000) compiled.clear();
    compiled.set(key, cron);
  }
  return cron ?? undefined;
}

/** The wall-clock reading of `at` in the zone, as milliseconds of a UTC date with those fields. */
function wallClock(at: number, zone: IANAZone): number {
  return at + zone.offset(at) * MINUTE;
}

/** The instant a wall-clock time names: the later of two in a fold, the pre-change offset in a gap. */
function placeWallClock(wall: number, zone: IANAZone): number {
  const offsets = new Set([zone.offset(wall - MAX_OFFSET), zone.offset(wall), zone.offset(wall + MAX_OFFSET)]);
  let placed: number | undefined;
  for (const offset of offsets) {
    const at = wall - offset * MINUTE;
    if (zone.offset(at) === offset && (placed === undefined || at > placed)) placed = at;
  }
  // In a gap the offset grows, so the smaller one is the offset before the change.
  return placed ?? wall - Math.min(...offsets) * MINUTE;
}

function wallTick(cron: CompiledCron, wall: number, direction: 'next' | 'prev'): number | undefined {
  try {
    cron.parsed.reset(new Date(wall));
    return (direction === 'next' ? cron.parsed.next() : cron.parsed.prev()).getTime();
  } catch {
    return undefined;
  }
}

/** `at` moved by a wall-clock difference the way pendulum adds a timedelta: whole days on the calendar, the rest in real time. */
function shift(at: number, delta: number, zone: IANAZone): number {
  const days = Math.trunc(delta / DAY);
  const onCalendar = days === 0 ? at : placeWallClock(wallClock(at, zone) + days * DAY, zone);
  return onCalendar + (delta - days * DAY);
}

/** The first tick strictly after `at` (Airflow's `_get_next`). */
export function nextTick(expression: string, timezone: string, at: Date): Date | undefined {
  const cron = compile(expression, timezone);
  if (!cron) return undefined;
  const wall = wallClock(at.getTime(), cron.zone);
  const tick = wallTick(cron, wall, 'next');
  if (tick === undefined) return undefined;
  if (cron.everyHour) return new Date(shift(at.getTime(), tick - wall, cron.zone));
  // Placing a later wall-clock time never lands at or before `at`: a gap moves it forward, a fold
  // picks its later instant.
  return new Date(placeWallClock(tick, cron.zone));
}

/** The last tick strictly before `at` (Airflow's `_get_prev`, which must not return a tick at or after `at`). */
export function prevTick(expression: string, timezone: string, at: Date): Date | undefined {
  const cron = compile(expression, timezone);
  if (!cron) return undefined;
  let wall = wallClock(at.getTime(), cron.zone);
  for (let guard = 0; guard < 4; guard++) {
    const tick = wallTick(cron, wall, 'prev');
    if (tick === undefined) return undefined;
    if (cron.everyHour) return new Date(shift(at.getTime(), -(wall - tick), cron.zone));
    const placed = placeWallClock(tick, cron.zone);
    // A tick skipped by spring-forward is placed at the change, which can be at or after `at`.
    if (placed < at.getTime()) return new Date(placed);
    wall = tick;
  }
  return undefined;
}

/** `at` if it is a tick, else the next tick (Airflow's `_align_to_next`). */
export function alignToNext(expression: string, timezone: string, at: Date): Date | undefined {
  const next = nextTick(expression, timezone, at);
  if (!next) return undefined;
  return prevTick(expression, timezone, next)?.getTime() === at.getTime() ? at : next;
}

/** `at` if it is a tick, else the tick before (Airflow's `_align_to_prev`). */
export function alignToPrev(expression: string, timezone: string, at: Date): Date | undefined {
  const prev = prevTick(expression, timezone, at);
  if (!prev) return undefined;
  return nextTick(expression, timezone, prev)?.getTime() === at.getTime() ? at : prev;
}
