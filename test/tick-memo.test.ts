import { describe, expect, it } from 'vitest';
import * as direct from '../runner/core/cron-ticks.ts';
import * as remembered from '../runner/core/tick-memo.ts';

describe('remembered cron ticks', () => {
  it('answer as cron-ticks does, asked twice, through a DST night and for a cron that never fires', () => {
    const cases: [string, string][] = [
      ['30 2 * * *', 'America/New_York'],
      ['0 * * * *', 'Europe/Paris'],
      ['*/5 * * * *', 'UTC'],
      ['0 0 30 2 *', 'UTC'],
    ];
    for (const [expression, timezone] of cases) {
      for (let at = Date.UTC(2026, 2, 7, 0); at < Date.UTC(2026, 2, 10, 0); at += 17 * 60_000) {
        for (const name of ['nextTick', 'prevTick', 'alignToNext', 'alignToPrev'] as const) {
          const expected = direct[name](expression, timezone, new Date(at))?.toISOString();
          expect(remembered[name](expression, timezone, new Date(at))?.toISOString()).toBe(expected);
          expect(remembered[name](expression, timezone, new Date(at))?.toISOString()).toBe(expected);
        }
      }
    }
  });

  it('hand out a fresh date each time, so a caller changing one does not change the next answer', () => {
    const at = new Date('2026-01-01T10:02:00Z');
    remembered.nextTick('*/5 * * * *', 'UTC', at)!.setTime(0);
    expect(remembered.nextTick('*/5 * * * *', 'UTC', at)?.toISOString()).toBe('2026-01-01T10:05:00.000Z');
  });
});
