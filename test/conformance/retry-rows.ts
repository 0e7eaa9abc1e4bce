/**
 * Retry delays, transcribed from Airflow's tests of `TaskInstance.next_retry_datetime`. Airflow's
 * `try_number` there is the try that just failed, Runway's `failures`; its delays are ranges
 * because Airflow spreads them with a hash, Runway with a random number, so each row is checked
 * at both ends of the spread.
 */
import { AIRFLOW, DIFFERENCES, type ConformanceRow } from './row.ts';

export interface RetryRow extends ConformanceRow {
  /** retry_delay and max_retry_delay, in seconds; exponential backoff. */
  delayS: number;
  maxDelayS: number;
  tryNumber: number;
  /** [lowest, highest) delay in seconds; a single number when exact. */
  expectedS: [number, number] | number;
}

const ti = (test: string) => `${AIRFLOW.taskInstance}::${test}`;

export const RETRY_ROWS: RetryRow[] = [
  // "between 30 * 2^0.5 and 30 * 2^1 (15 and 30)": the fixture's task instance has not run (try 0).
  {
    source: ti('test_next_retry_datetime[try_number=0]'),
    delayS: 30,
    maxDelayS: 3600,
    tryNumber: 0,
    expectedS: [15, 30],
  },
  {
    source: ti('test_next_retry_datetime[try_number=3]'),
    delayS: 30,
    maxDelayS: 3600,
    tryNumber: 3,
    expectedS: [120, 240],
  },
  {
    source: ti('test_next_retry_datetime[try_number=5]'),
    delayS: 30,
    maxDelayS: 3600,
    tryNumber: 5,
    expectedS: [480, 960],
  },
  { source: ti('test_next_retry_datetime[try_number=9]'), delayS: 30, maxDelayS: 3600, tryNumber: 9, expectedS: 3600 },
  {
    source: ti('test_next_retry_datetime[try_number=50]'),
    delayS: 30,
    maxDelayS: 3600,
    tryNumber: 50,
    expectedS: 3600,
  },
  {
    source: ti('test_next_retry_datetime_returns_max_for_overflow[try_number=5000]'),
    delayS: 30,
    maxDelayS: 3600,
    tryNumber: 5000,
    expectedS: 3600,
  },
  {
    source: ti('test_next_retry_datetime_returns_max_for_overflow[try_number=50000]'),
    delayS: 30,
    maxDelayS: 3600,
    tryNumber: 50000,
    expectedS: 3600,
  },
  ...[0, 0.5, 1].map((seconds): RetryRow => ({
    source: ti(`test_next_retry_datetime_short_or_zero_intervals[${seconds}]`),
    delayS: seconds,
    maxDelayS: 3600,
    tryNumber: 0,
    expectedS: 1,
  })),
  {
    source: ti('test_next_retry_datetime_with_custom_multiplier[try_number=1]'),
    delayS: 240,
    maxDelayS: 86_400,
    tryNumber: 1,
    expectedS: [240, 1200],
    difference: DIFFERENCES.backoffDoubles.reason,
  },
  {
    source: ti('test_next_retry_datetime_with_custom_multiplier[try_number=2]'),
    delayS: 240,
    maxDelayS: 86_400,
    tryNumber: 2,
    expectedS: [1200, 6000],
    difference: DIFFERENCES.backoffDoubles.reason,
  },
  {
    source: ti('test_next_retry_datetime_with_retry_delay_override'),
    delayS: 300,
    maxDelayS: 3600,
    tryNumber: 1,
    expectedS: 10,
    difference: DIFFERENCES.retryOverrideOnError.reason,
  },
];
