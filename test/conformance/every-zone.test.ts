/**
 * No zone makes the schedule arithmetic throw or lose a day: for every IANA zone with a DST change
 * in 2024, nightly schedules caught up across each change give one run per local day, each interval
 * starting where the last ended. (cron-parser threw "loop limit exceeded" around Lord Howe's
 * half-hour change; this walks every zone the runtime knows.)
 */
import { describe, expect, it } from 'vitest';
import { DateTime, IANAZone } from 'luxon';
import { dueIntervals } from '../../runner/core/data-interval.ts';

const DAY = 86_400_000;

/** Instants in 2024 at which the zone's offset changes, to the half hour (month by month, then day by day). */
function changes(zone: IANAZone): number[] {
  const found: number[] = [];
  for (let month = 0; month < 12; month++) {
    const from = Date.UTC(2024, month, 1);
    const to = Date.UTC(2024, month + 1, 1);
    if (zone.offset(from) === zone.offset(to)) continue;
    for (let at = from + DAY; at <= to; at += DAY) {
      if (zone.offset(at) === zone.offset(at - DAY)) continue;
      // To the half hour: zones that change on the same day at different times are not alike.
      let exact = at;
      while (zone.offset(exact - 1_800_000) !== zone.offset(at - DAY)) exact -= 1_800_000;
      found.push(exact);
    }
  }
  return found;
}

describe('every time zone', () => {
  it('gives one run per local day across each 2024 DST change, for nightly schedules', () => {
    // Zones whose 2024 changes fall at the same instants with the same offsets behave alike: one of each.
    const alike = new Map<string, string>();
    for (const timezone of Intl.supportedValuesOf('timeZone').filter((z) => IANAZone.isValidZone(z))) {
      const zone = IANAZone.create(timezone);
      const found = changes(zone);
      const key = found.map((at) => `${at}:${zone.offset(at - 1)}:${zone.offset(at)}`).join(',');
      if (found.length > 0 && !alike.has(key)) alike.set(key, timezone);
    }
    let checked = 0;
    for (const timezone of alike.values()) {
      for (const change of changes(IANAZone.create(timezone))) {
        for (const expression of ['0 2 * * *', '30 1 * * *', '0 0 * * *']) {
          const spec = {
            schedule: { kind: 'cron' as const, expression },
            timezone,
            startDate: new Date(change - 4 * DAY),
            catchup: true,
          };
          const intervals = dueIntervals(spec, undefined, new Date(change + 3 * DAY), 10);
          const days = intervals.map((i) => DateTime.fromJSDate(i.start, { zone: timezone }).toISODate());
          const first = DateTime.fromJSDate(intervals[0]!.start, { zone: timezone });
          const where = `${timezone} ${expression} around ${new Date(change).toISOString()}`;
          expect(days, where).toEqual(days.map((_, d) => first.plus({ days: d }).toISODate()));
          expect(intervals.length, where).toBeGreaterThanOrEqual(5);
          for (let i = 1; i < intervals.length; i++) expect(intervals[i]!.start, where).toEqual(intervals[i - 1]!.end);
          checked++;
        }
      }
    }
    expect(alike.size).toBeGreaterThan(20);
    expect(checked).toBeGreaterThan(100);
  });
});
