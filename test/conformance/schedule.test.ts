/**
 * Runway's schedules against the cases of Airflow's own tests (`schedule-rows.ts`). Each row runs
 * the pure functions the scheduler uses: `nextInterval`, and `dueIntervals` on top of it (the
 * catch-up and the latest-interval paths are that one computation).
 */
import { describe, expect, it } from 'vitest';
import { dueIntervals, manualInterval, nextInterval, type ScheduleSpec } from '../../runner/core/data-interval.ts';
import { nextTick, prevTick } from '../../runner/core/cron-ticks.ts';
import { parseSchedule } from '../../runner/core/schedule.ts';
import { countRows } from './row.ts';
import { SCHEDULE_ROWS, type ScheduleRow } from './schedule-rows.ts';

const iso = (value: string) => new Date(value).toISOString();
const pair = (i: { start: Date; end: Date } | undefined) => (i ? [i.start.toISOString(), i.end.toISOString()] : null);

function specOf(row: { schedule: string; timezone: string; startDate?: string; catchup?: boolean }): ScheduleSpec {
  const parsed = parseSchedule(row.schedule, row.timezone);
  if (!parsed.ok) throw new Error(parsed.error);
  return {
    schedule: parsed.value,
    timezone: row.timezone,
    startDate: new Date(row.startDate ?? '2000-01-01T00:00Z'),
    catchup: row.catchup ?? true,
  };
}

function check(row: ScheduleRow): void {
  switch (row.kind) {
    case 'next': {
      const spec = specOf(row);
      const last = row.last && { start: new Date(row.last[0]), end: new Date(row.last[1]) };
      const now = new Date(row.now);
      const expected = row.expected && row.expected.map(iso);
      expect(pair(nextInterval(spec, last, now))).toEqual(expected);
      // The scheduler's path: the same interval is due exactly when it has ended.
      const due = expected && new Date(expected[1]!) <= now ? [expected] : [];
      expect(dueIntervals(spec, last, now, 1).map(pair)).toEqual(due);
      return;
    }
    case 'manual':
      expect(pair(manualInterval(specOf(row), new Date(row.at)))).toEqual(row.expected.map(iso));
      return;
    case 'tick':
      if (row.next) expect(nextTick(row.schedule, row.timezone, new Date(row.at))?.toISOString()).toBe(iso(row.next));
      if (row.prev) expect(prevTick(row.schedule, row.timezone, new Date(row.at))?.toISOString()).toBe(iso(row.prev));
      return;
    case 'validate':
      expect(parseSchedule(row.schedule, 'UTC').ok).toBe(row.valid);
      return;
    case 'unwritable':
      throw new Error(`${row.source} has no Runway form and must carry a difference`);
  }
}

describe("schedules conform to Airflow's tests", () => {
  for (const row of SCHEDULE_ROWS) {
    if (row.difference !== undefined) continue;
    it(row.source, () => check(row));
  }

  it('lists every row it does not run as a documented difference', () => {
    expect(SCHEDULE_ROWS.filter((r) => r.kind === 'unwritable' && r.difference === undefined)).toEqual([]);
    expect(countRows(SCHEDULE_ROWS)).toEqual({ pass: 74, difference: 24 });
  });
});
