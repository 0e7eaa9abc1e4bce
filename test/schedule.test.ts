import { describe, expect, it } from 'vitest';
import { parseDagDate, parseSchedule, SCHEDULE_PRESETS } from '../runner/core/schedule.ts';

describe('parseSchedule', () => {
  it('reads null as manual, @once, every preset and five-field cron', () => {
    expect(parseSchedule(null, 'UTC')).toEqual({ ok: true, value: { kind: 'manual' } });
    expect(parseSchedule('@once', 'UTC')).toEqual({ ok: true, value: { kind: 'once' } });
    for (const [preset, expression] of Object.entries(SCHEDULE_PRESETS)) {
      expect(parseSchedule(preset, 'Europe/Paris')).toEqual({ ok: true, value: { kind: 'cron', expression } });
    }
    expect(parseSchedule('30 2 * * 1-5', 'America/New_York')).toEqual({
      ok: true,
      value: { kind: 'cron', expression: '30 2 * * 1-5' },
    });
  });

  it('explains what is wrong with a bad expression', () => {
    expect(parseSchedule('0 2 * *', 'UTC')).toEqual({
      ok: false,
      error: '"0 2 * *" has 4 fields; a cron expression has 5 (minute hour day-of-month month day-of-week)',
    });
    expect(parseSchedule('61 * * * *', 'UTC')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^"61 \* \* \* \*" is not a valid cron expression/),
    });
    expect(parseSchedule('@nightly', 'UTC')).toMatchObject({ ok: false, error: expect.stringContaining('@daily') });
    // 30 February never comes: refused when the DAG loads, so no schedule that never fires reaches the scheduler.
    expect(parseSchedule('0 0 30 2 *', 'Europe/Paris')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^"0 0 30 2 \*" is not a valid cron expression/),
    });
    expect(parseSchedule('0 0 29 2 *', 'UTC')).toMatchObject({ ok: true });
  });
});

describe('parseDagDate', () => {
  it('reads a date alone as midnight in the DAG time zone', () => {
    expect(parseDagDate('2026-07-01', 'Europe/Paris')).toEqual({ ok: true, value: new Date('2026-06-30T22:00:00Z') });
    expect(parseDagDate('2026-01-01T02:00+00:00', 'Europe/Paris')).toEqual({
      ok: true,
      value: new Date('2026-01-01T02:00:00Z'),
    });
  });
});
