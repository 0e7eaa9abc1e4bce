/** Runway's retry delays against the cases of Airflow's own tests (`retry-rows.ts`). */
import { describe, expect, it } from 'vitest';
import { retryDelayMs, type RetryPolicy } from '../../runner/core/retry-policy.ts';
import { countRows } from './row.ts';
import { RETRY_ROWS } from './retry-rows.ts';

describe("retry delays conform to Airflow's tests", () => {
  for (const row of RETRY_ROWS) {
    if (row.difference !== undefined) continue;
    it(row.source, () => {
      const policy: RetryPolicy = {
        retries: 3,
        delayMs: row.delayS * 1_000,
        backoff: 'exponential',
        maxDelayMs: row.maxDelayS * 1_000,
      };
      const lowest = retryDelayMs(policy, row.tryNumber, () => 0) / 1_000;
      const highest = retryDelayMs(policy, row.tryNumber, () => 0.999_999_9) / 1_000;
      if (typeof row.expectedS === 'number') {
        expect([lowest, highest]).toEqual([row.expectedS, row.expectedS]);
      } else {
        expect(lowest).toBe(row.expectedS[0]);
        expect(highest).toBeGreaterThanOrEqual(row.expectedS[0]);
        expect(highest).toBeLessThan(row.expectedS[1]);
      }
    });
  }

  it('lists every row it does not run as a documented difference', () => {
    expect(countRows(RETRY_ROWS)).toEqual({ pass: 10, difference: 3 });
  });
});
