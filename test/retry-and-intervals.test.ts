import { describe, expect, it } from 'vitest';
import { dueIntervals, dsOf, intervalsBetween, nextRunDueAt } from '../runner/core/data-interval.ts';
import { retryDelayMs, retryPolicyOf } from '../runner/core/retry-policy.ts';

describe('retryDelayMs', () => {
  it("waits the fixed delay, or Airflow's exponential [d·2^(n-1), d·2^n) in whole seconds up to the cap", () => {
    const fixed = retryPolicyOf({ retries: 3, retryDelay: '30s' });
    expect([1, 2, 3].map((n) => retryDelayMs(fixed, n))).toEqual([30_000, 30_000, 30_000]);
    const exp = retryPolicyOf({ retries: 9, retryDelay: '10s', retryBackoff: 'exponential', maxRetryDelay: '1m' });
    // The first retry never waits less than retryDelay, and a capped delay is the cap, not half of it.
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(exp, n, () => 0))).toEqual([10_000, 20_000, 40_000, 60_000, 60_000]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(exp, n, () => 0.999))).toEqual([19_000, 39_000, 60_000, 60_000]);
  });

  it('waits at least 1 s with exponential backoff, as Airflow does for a 0 s delay', () => {
    const zero = retryPolicyOf({ retries: 3, retryDelay: '0s', retryBackoff: 'exponential' });
    expect([1, 2].map((n) => retryDelayMs(zero, n, () => 0.5))).toEqual([1_000, 1_000]);
  });

  it("uses Airflow's default delay of 5 minutes", () => {
    expect(retryDelayMs(retryPolicyOf({ retries: 1 }), 1)).toBe(300_000);
  });
});

const paris = (expression: string, catchup: boolean, startDate: string) => ({
  schedule: { kind: 'cron' as const, expression },
  timezone: 'Europe/Paris',
  startDate: new Date(startDate),
  catchup,
});
const hours = (i: { start: Date; end: Date }) => (i.end.getTime() - i.start.getTime()) / 3_600_000;

describe('data intervals', () => {
  it('creates the run for [start, end) once end has passed, logical date = start', () => {
    const spec = paris('0 0 * * *', true, '2026-01-04T23:00:00Z');
    expect(dueIntervals(spec, undefined, new Date('2026-01-05T22:59:59Z'), 10)).toEqual([]);
    expect(dueIntervals(spec, undefined, new Date('2026-01-05T23:00:00Z'), 10)).toEqual([
      { start: new Date('2026-01-04T23:00:00Z'), end: new Date('2026-01-05T23:00:00Z') },
    ]);
    expect(dsOf(new Date('2026-01-04T23:00:00Z'), 'Europe/Paris')).toEqual({ ds: '2026-01-05', dsNodash: '20260105' });
  });

  it('makes the spring-forward day 23 hours and the fall-back day 25 hours long', () => {
    const spring = dueIntervals(
      paris('0 0 * * *', true, '2026-03-27T23:00:00Z'),
      undefined,
      new Date('2026-04-01T00:00:00Z'),
      10,
    );
    expect(spring.map((i) => [dsOf(i.start, 'Europe/Paris').ds, hours(i)])).toEqual([
      ['2026-03-28', 24],
      ['2026-03-29', 23],
      ['2026-03-30', 24],
      ['2026-03-31', 24],
    ]);
    const fall = dueIntervals(
      paris('0 0 * * *', true, '2026-10-23T22:00:00Z'),
      undefined,
      new Date('2026-10-27T00:00:00Z'),
      10,
    );
    expect(fall.map((i) => [dsOf(i.start, 'Europe/Paris').ds, hours(i)])).toEqual([
      ['2026-10-24', 24],
      ['2026-10-25', 25],
      ['2026-10-26', 24],
    ]);
  });

  it('runs a 02:30 schedule once on DST days: at 03:30 when 02:30 does not exist, at the second when it happens twice', () => {
    const spring = dueIntervals(
      paris('30 2 * * *', true, '2026-03-28T00:00:00Z'),
      undefined,
      new Date('2026-03-31T00:00:00Z'),
      10,
    );
    expect(spring.map((i) => i.end.toISOString())).toEqual(['2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
    const fall = dueIntervals(
      paris('30 2 * * *', true, '2026-10-24T00:00:00Z'),
      undefined,
      new Date('2026-10-27T00:00:00Z'),
      10,
    );
    // 02:30 happens twice on 2026-10-25 (CEST, then CET): the run is due once, at the second, as
    // Airflow's TestCronIntervalDst.test_exiting_fold has it (fold=1).
    expect(fall.map((i) => i.end.toISOString())).toEqual(['2026-10-25T01:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  it('catches up oldest first and bounded, after the last run; without catchup, only the latest', () => {
    const spec = paris('0 * * * *', true, '2026-01-01T00:00:00Z');
    const now = new Date('2026-01-01T10:30:00Z');
    expect(dueIntervals(spec, undefined, now, 3).map((i) => i.start.toISOString())).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T01:00:00.000Z',
      '2026-01-01T02:00:00.000Z',
    ]);
    const eightToNine = { start: new Date('2026-01-01T08:00:00Z'), end: new Date('2026-01-01T09:00:00Z') };
    expect(dueIntervals(spec, eightToNine, now, 10).map((i) => i.start.toISOString())).toEqual([
      '2026-01-01T09:00:00.000Z',
    ]);
    expect(dueIntervals({ ...spec, catchup: false }, undefined, now, 10).map((i) => i.start.toISOString())).toEqual([
      '2026-01-01T09:00:00.000Z',
    ]);
    const nineToTen = { start: new Date('2026-01-01T09:00:00Z'), end: new Date('2026-01-01T10:00:00Z') };
    expect(nextRunDueAt(spec, nineToTen, now)).toEqual(new Date('2026-01-01T11:00:00Z'));
  });

  it('respects the end date, runs @once once, and lists a backfill range', () => {
    const ended = { ...paris('0 0 * * *', true, '2026-01-01T00:00:00Z'), endDate: new Date('2026-01-03T00:00:00Z') };
    expect(dueIntervals(ended, undefined, new Date('2026-02-01T00:00:00Z'), 100)).toHaveLength(2);
    const once = {
      schedule: { kind: 'once' as const },
      timezone: 'UTC',
      startDate: new Date('2026-01-01T00:00:00Z'),
      catchup: false,
    };
    expect(dueIntervals(once, undefined, new Date('2026-01-02T00:00:00Z'), 5)).toHaveLength(1);
    const onceDone = { start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-01-01T00:00:00Z') };
    expect(dueIntervals(once, onceDone, new Date('2026-01-02T00:00:00Z'), 5)).toEqual([]);
    const daily = paris('0 0 * * *', false, '2025-01-01T00:00:00Z');
    expect(intervalsBetween(daily, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-03T23:00:00Z')).length).toBe(3);
  });
});
